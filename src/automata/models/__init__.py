"""Models. Every model follows the contract of :mod:`automata.models.contract`, checked when it
is built: ``forward(x)`` returns ``(logits, features)``, ``features`` are the penultimate
activations and ``logits = model.classifier(features)`` with ``classifier`` an ``nn.Linear``, so
selectors can compute last-layer gradients in closed form (:mod:`automata.selection.gradients`)."""
