"""Deployment on the ESP32-S3 (chapter 6): a generated ESP-IDF project, its host-tested C audio path,
a budget of flash, RAM and compute, and a per-op ESP32-S3 cost model (s3cost)."""

from .book import excerpt, files_markdown, host_test_summary, plot_cycle_budget, wiring_markdown
from .budget import budget_markdown, esp32s3_budget, load_budget
from .cgen import BANNER, op_method, parse_model_array
from .s3cost import callgrind_instructions_per_step, kernel_path, profile_markdown, s3_profile
from .esp32s3 import (DEFAULT_PINS, DeployError, Pins, Project, arena_with_margin, generate_esp32s3_project,
                      inspect_tflite, read_reference_vectors, run_host_test, write_reference_vectors)

__all__ = ["excerpt", "files_markdown", "host_test_summary", "plot_cycle_budget", "wiring_markdown", "budget_markdown",
           "esp32s3_budget", "load_budget", "BANNER", "DEFAULT_PINS", "DeployError", "Pins", "Project", "arena_with_margin", "generate_esp32s3_project",
           "inspect_tflite", "op_method", "parse_model_array", "read_reference_vectors", "run_host_test",
           "write_reference_vectors", "s3_profile", "profile_markdown", "kernel_path",
           "callgrind_instructions_per_step"]
