"""Sub-commands of the ``lift2d3d`` CLI (one module each; see ``lift2d3d.cli``)."""
