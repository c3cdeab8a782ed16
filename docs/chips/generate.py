"""Write the chip pages of docs/chips/ from the chip files, so their numbers never drift.

Each page is a hand-written template (``docs/chips/templates/<chip>.md``) whose numbers
are placeholders, followed by a generated table of every parameter with its source:

* ``{{core.neurons}}`` -- a value of the chip file, by dotted key (profiles included:
  ``{{profiles.sanafe.energy.synop_pj}}``; ``{{energy.synop_pj}}`` and
  ``{{timing.synop_ns}}`` are the default profile's);
* ``{{source:core.neurons}}`` -- the source of that value;
* ``{{derived.NAME}}`` -- a number computed from the chip (see :func:`derived`).

Lists read as prose (``1, 2 or 4``); the generated tables show them as ``[1, 2, 4]``.

Run ``python docs/chips/generate.py`` after changing a chip file or a template;
``--check`` exits 1 when a committed page differs from what would be generated
(tests/test_chip_docs.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from neurocomp.chip.load import load_chip
from neurocomp.chip.packing import synapse_memory_bits
from neurocomp.chip.spec import ChipSpec
from neurocomp.cli.chips import SECTIONS, format_value

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")

# Merolla et al. 2014's "typical" real-time workload (a workload, not a chip property):
# the rate and active synapses per neuron at which TrueNorth's power is quoted.
TYPICAL_RATE_HZ = 20
TYPICAL_ACTIVE_SYNAPSES = 128


def pages() -> list[str]:
    """Chips that have a page: one template each."""
    return sorted(p.stem for p in TEMPLATES.glob("*.md"))


def derived(chip: ChipSpec) -> dict[str, Any]:
    """Numbers the pages quote that are computed from the chip file, not written in it."""
    top, core, e = chip.topology, chip.core, chip.energy
    full_row = synapse_memory_bits(chip, [core.neurons], weight_bits=chip.numerics.weights.max_bits)
    out: dict[str, Any] = {
        "tiles": top.tiles_x * top.tiles_y,
        "neurons_per_chip": top.cores_per_chip * core.neurons,
        "synapse_memory_kib": core.synapse_memory_bits / 8 / 1024,
        "synapse_memory_per_chip_mib": round(top.cores_per_chip * core.synapse_memory_bits / 8 / 2**20, 2),
        "max_hops": (top.tiles_x - 1) + (top.tiles_y - 1),
        # One input axon that reaches every neuron of a core at the widest weight.
        "full_row_bits": full_row,
        "full_rows_per_core": core.synapse_memory_bits // full_row,
        # A spike from one corner of the chip to the other (default profile).
        "corner_route_pj": round(e.spike_in_tile_pj + (top.tiles_x - 1) * e.hop_east_west_pj
                                 + (top.tiles_y - 1) * e.hop_north_south_pj, 6),
        "max_weight_bits": chip.numerics.weights.max_bits,
        "weights_per_core_at_max_bits": core.synapse_memory_bits // chip.numerics.weights.max_bits,
        "reserved_cores": len(top.reserved_slots),
        "typical_rate_hz": TYPICAL_RATE_HZ,
        "typical_active_synapses": TYPICAL_ACTIVE_SYNAPSES,
        # Power of the synaptic events alone at that workload, one chip.
        "typical_synop_power_mw": round(top.cores_per_chip * core.neurons * TYPICAL_RATE_HZ
                                        * TYPICAL_ACTIVE_SYNAPSES * e.synop_pj * 1e-9, 1),
        # ... and the chip's whole power there, static included, and per synaptic event
        "typical_power_mw": round(e.static_power_mw + top.cores_per_chip * core.neurons * TYPICAL_RATE_HZ
                                  * TYPICAL_ACTIVE_SYNAPSES * e.synop_pj * 1e-9, 1),
        "typical_pj_per_event": round((e.static_power_mw * 1e9 / (top.cores_per_chip * core.neurons
                                                                  * TYPICAL_RATE_HZ * TYPICAL_ACTIVE_SYNAPSES))
                                      + e.synop_pj, 1),
    }
    t = chip.timing
    if t.real_time:
        out["tick_ms"] = t.tick_ns / 1e6
    else:
        out["corner_route_ns"] = round(t.spike_in_tile_ns + (top.tiles_x - 1) * t.hop_east_west_ns
                                       + (top.tiles_y - 1) * t.hop_north_south_ns, 6)
    if chip.numerics.decay is not None:
        out["decay_unity"] = 2**chip.numerics.decay.bits
    if chip.numerics.state:
        out.update({f"state_{k}_max": 2 ** (v.bits - 1) - 1 for k, v in chip.numerics.state.items()})
    if chip.numerics.threshold is not None:
        th = chip.numerics.threshold
        out["threshold_max"] = (2**th.mantissa_bits - 1) << th.shift
    return out


def _lookup(chip: ChipSpec, key: str) -> Any:
    if key.startswith(("energy.", "timing.")):  # the default profile's costs
        key = f"profiles.{chip.default_profile}.{key}"
    node: Any = chip.model_dump(by_alias=True)
    for part in key.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def prose(value: Any) -> str:
    """A value inside a sentence: lists read ``1, 2 or 4``."""
    if isinstance(value, (list, tuple)):
        items = [prose(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return format_value(value)


def _fill(template: str, chip: ChipSpec, name: str) -> str:
    numbers = derived(chip)

    def one(match: re.Match) -> str:
        key = match.group(1)
        try:
            if key.startswith("source:"):
                source = chip.source_of(key.removeprefix("source:"))
                if source is None:
                    raise KeyError(key)
                return source
            if key.startswith("derived."):
                return prose(numbers[key.removeprefix("derived.")])
            return prose(_lookup(chip, key))
        except KeyError:
            raise SystemExit(f"docs/chips/templates/{name}.md: unknown placeholder {{{{{key}}}}}") from None

    return PLACEHOLDER.sub(one, template)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _parameter_tables(chip: ChipSpec) -> str:
    params = [p for p in chip.parameters(include_unsourced=True) if not p.key.startswith("sources.")]
    groups = [(s, f"{s}.") for s in SECTIONS]
    groups += [(f"profile `{n}`" + (" (default)" if n == chip.default_profile else ""), f"profiles.{n}.")
               for n in chip.profiles]
    out = ["## Every parameter and its source", "",
           f"Generated from `chips/{chip.name}.toml`. A source names a reference below, or says "
           "`derived:` (computed from sourced values), `assumed:` (no source; why this value) "
           "or `user:` (chosen when loading).", ""]
    for title, prefix in groups:
        rows = [p for p in params if p.key.startswith(prefix)]
        if not rows:
            continue
        out += [f"### {title}", "", "| key | value | source |", "|---|---:|---|"]
        out += [f"| `{p.key.removeprefix(prefix)}` | {_cell(format_value(p.value))} | {_cell(p.source)} |"
                for p in rows]
        out.append("")
    out += ["## Sources", ""]
    out += [f"- **{r.key}**: {_cell(r.citation)}" for r in chip.sources]
    return "\n".join(out) + "\n"


def render(name: str) -> str:
    """The full text of ``docs/chips/<name>.md``."""
    chip = load_chip(name)
    template = (TEMPLATES / f"{name}.md").read_text(encoding="utf-8")
    header = (f"<!-- Generated by docs/chips/generate.py from chips/{name}.toml and "
              f"docs/chips/templates/{name}.md. Edit those, then run: python docs/chips/generate.py -->\n\n")
    return header + _fill(template, chip, name).rstrip("\n") + "\n\n" + _parameter_tables(chip)


def render_index() -> str:
    """``docs/chips/README.md``: one row per page."""
    lines = ["<!-- Generated by docs/chips/generate.py. Run: python docs/chips/generate.py -->", "",
             "# The chips", "",
             "One page per architecture: what a core holds, how a spike travels, what limits a "
             "mapping and what costs energy, with every number taken from the chip file and its "
             "source. `neurocomp chips` lists the same chips; `neurocomp chips show NAME` prints "
             "every parameter.", "",
             "| chip | vendor | cores | neurons per core | synapse memory per core | energy per synaptic op "
             "(default profile) |",
             "|---|---|---:|---:|---:|---:|"]
    for name in pages():
        chip = load_chip(name)
        lines.append(f"| [{name}]({name}.md) | {chip.vendor} | {format_value(chip.total_cores)} | "
                     f"{format_value(chip.core.neurons)} | "
                     f"{format_value(chip.core.synapse_memory_bits / 8 / 1024)} KiB | "
                     f"{format_value(chip.energy.synop_pj)} pJ ({chip.default_profile}) |")
    return "\n".join(lines) + "\n" + WRITING_A_CHIP


WRITING_A_CHIP = """
## Writing a chip file

A chip is a TOML file; `neurocomp chips show my_chip.toml` validates it and prints
what it read, and every command that takes `--chip` accepts the path. The bundled
files in `chips/` are complete examples; `tests/data/tiny.toml` is the smallest.

Every number carries its source, written next to it:

```toml
[core]
neurons = { value = 1024, source = "davies2018 p.89: 1,024 compartments per core" }
```

A source starts with the key of a reference declared in the file's `[[sources]]`
list (`key = "davies2018"`, `citation = "..."`), then says where in it; or with
`derived:` (how it was computed from sourced values) or `assumed:` (why this value,
when nothing can be cited). A source on a list or a table covers everything in it.
Names and modes (`family = "loihi_cuba_lif"`) may go without a source.

The sections: `[topology]` (the mesh: `tiles_x`, `tiles_y`, `cores_per_tile`,
`cores_per_chip`), `[system]` (`max_chips`), `[core]` (per-core limits and the
synapse-memory `[core.packing]` rule), `[numerics]` (widths), `[neuron]` (the
neuron family the emulator runs, and its features), `[connectivity]` (routing
rules) and one `[profiles.NAME]` per set of costs, each with `timing` and
`energy`; `default_profile` names the one used unless `--profile` picks another.
A profile prices each operation of the cost model (`synop`, `spike_in_tile`, ...:
the table in [energy.md](../energy.md)) with `<operation>_pj` and `<operation>_ns`;
an energy it leaves out, and `static_power_mw`, is 0, while an event-driven chip
(no `tick_ns`) must give every operation's time and a `barrier` table.
Mistakes are reported all at once, each with its line, key, rule and value.

A *system file* names a chip and how many of it, tiled on a board:

```toml
chip = "loihi"        # a bundled name, or a path relative to this file
chips_x = 4
chips_y = 2
profile = "sanafe"    # optional
```

`--chips N` does the same without a file, tiling the N chips as squarely as
possible.
"""


def outputs() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {HERE / f"{name}.md": render(name) for name in pages()}
    files[HERE / "README.md"] = render_index()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a page is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(HERE.parent.parent)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
