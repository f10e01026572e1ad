"""Models. Every model's ``forward(x)`` returns ``(logits, features)``: ``features`` are the
penultimate activations and ``logits = model.classifier(features)``, so selectors can compute
last-layer gradients in closed form (see :mod:`automata.selection.gradients`)."""
