"""An example HarmonE plugin: the ``ewma`` forecasting kind and the ``greedy-ema`` policy."""
