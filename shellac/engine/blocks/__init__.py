"""Block processing of long recordings: overlap-add and the block-autoregressive driver."""
