"""Risk control (风控): the stateful half of the risk rules — velocity counters in Redis and
the block and allow lists operators manage, both read by decisions through the engine's
store protocols."""
