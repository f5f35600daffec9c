"""What the Lambda functions do with an invocation, so their `app.py` is glue only.

- `observability`: the Powertools logger and metrics, and `lambda_entry_point`, the
  decorators every function wears (tracing only when it is on);
- `runtime`: the upload function's wiring from its environment (clients, adapters,
  policy source, limits), built once per container;
- `uploads`: the upload function: event shapes, batch semantics, metrics and
  failure reporting;
- `reevaluate`: the re-evaluation function.

Tests, `gatekeeper invoke` and `gatekeeper demo` reach the same code. Importing
this package imports none of its modules: each function loads only its own.
"""
