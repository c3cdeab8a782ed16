#!/bin/sh
# Lava 0.10 in a venv of its own, for tests/test_learning_lava.py and benchmarks/bench_learning.py.
# Lava 0.10 declares Python < 3.11; it runs on 3.11 with --ignore-requires-python and one patch:
# its var_model.py gives dataclass fields a mutable default (ByteEncoder()), which 3.11 refuses.
set -e
VENV=${1:-/work/venvs/lava}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "numpy==1.26.4" "scipy<1.16" "networkx==2.8.8" "asteval==0.9.33"
"$VENV/bin/pip" install -q --no-deps --ignore-requires-python lava-nc==0.10.0
F=$("$VENV/bin/python" -c "import importlib.util as u; print(u.find_spec('lava').submodule_search_locations[0])")/magma/compiler/var_model.py
sed -i 's/: ByteEncoder = ByteEncoder()/: ByteEncoder = field(default_factory=ByteEncoder)/' "$F"
grep -q "^from dataclasses import.*field" "$F" || sed -i '0,/^from dataclasses import/s//from dataclasses import field\nfrom dataclasses import/' "$F"
"$VENV/bin/python" -c "from lava.proc.dense.process import LearningDense" && echo "lava venv ready: $VENV"
