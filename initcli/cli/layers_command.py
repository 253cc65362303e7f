"""``initcli layers``: every Keras layer class ``initcli model`` supports, and what it writes."""

from __future__ import annotations

import click


@click.command("layers")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout.")
def layers_command(as_json: bool) -> None:
    """List every Keras layer class 'initcli model' supports, by family.

    Each class is marked 'weights' (it always has weights, written in Keras's
    order with Keras's initializers and shapes), 'conditional' (only in some
    configurations, e.g. Attention(use_scale=True)), 'weightless' (nothing of it
    is in a weights file: Keras 3 saves no seed-generator state of the random
    augmentation layers) or 'refused' (it wraps code initcli cannot see: an
    error naming the layer). Any class not listed is refused the same way.

    \b
    Example:
      initcli layers
      initcli layers --json | python -c "import json,sys; print(len(json.load(sys.stdin)))"
    """
    from ..model.layers.listing import supported_layers

    rows = supported_layers()
    if as_json:
        from .jsonout import write_json

        write_json([{"class_name": r.name, "family": r.family, "kind": r.kind} for r in rows], indent=2)
        return
    width = max(len(r.name) for r in rows)
    for row in rows:
        click.echo(f"{row.name:<{width}}  {row.kind:<11}  {row.family}")
    counts = {kind: sum(r.kind == kind for r in rows) for kind in ("weights", "conditional", "weightless", "refused")}
    click.echo(
        f"{len(rows)} classes: {counts['weights']} with weights, {counts['conditional']} with weights in some "
        f"configurations, {counts['weightless']} weightless, {counts['refused']} refused"
    )
