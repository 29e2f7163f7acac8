"""Streaming (chapter 3): run a model one hop at a time with an explicit state.

``StreamingEnhancer(model).process(chunk)`` turns audio chunks of any size into enhanced audio
with a fixed latency of ``n_fft - hop_length`` samples; ``plot_state_sizes`` shows what the model
keeps between steps; ``load_streaming_benchmark`` reads the measured real-time factor.
"""

from .benchmark import DEFAULT_RESULTS, benchmark_step, load_streaming_benchmark, machine
from .enhancer import StreamingEnhancer, load_stream_model
from .plots import plot_state_sizes, state_summary

__all__ = ["StreamingEnhancer", "load_stream_model", "benchmark_step", "load_streaming_benchmark", "machine", "DEFAULT_RESULTS",
           "plot_state_sizes", "state_summary"]
