"""Orders (订单): the parent order a checkout creates, one order per shop under it, their
lines with the price snapshot the trial gave, and the state machine every order follows."""
