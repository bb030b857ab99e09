#!/usr/bin/env bash
# Mutation testing over the safety layer and the stop path: a surviving mutant is a missing test.
#
#   tools/mutation.sh                 # every mutant (low CPU priority; an hour or more)
#   tools/mutation.sh run 'massagectl.safety.thermal_dose.*'   # only the mutants named
#   tools/mutation.sh results         # survivors; any other mutmut command runs there too
#   MUTATION_TESTS="tests/safety/test_limit_edges.py ..." tools/mutation.sh run ...
#                                     # judged by these tests only: quicker, a lower bound
#
# mutmut names a mutant's module after its file's path (safety/limits.py -> safety.limits), but
# the project installs as massagectl.safety.limits; so the folders are staged below a
# massagectl/ folder (.mutation/massagectl/safety, ...) where the two agree, and mutmut runs
# there. Which files are mutated and which tests judge them: [tool.mutmut] in pyproject.toml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage="$root/.mutation"
venv="${MUTATION_VENV:-$root/.venv}"

mkdir -p "$stage/massagectl"
cp -p "$root"/massagectl/*.py "$stage/massagectl/"
for package in routines safety firmware_bridge sim controller; do
    # -p keeps modification times, which mutmut compares to know what it mutated already.
    rm -rf "$stage/massagectl/$package.new"
    cp -rp "$root/$package" "$stage/massagectl/$package.new"
    rm -rf "$stage/massagectl/$package"
    mv "$stage/massagectl/$package.new" "$stage/massagectl/$package"
done
rm -rf "$stage/tests"
cp -rp "$root/tests" "$root/pyproject.toml" "$stage/"
if [ -n "${MUTATION_TESTS:-}" ]; then
    selection=$(printf '"%s", ' $MUTATION_TESTS)
    sed -i "s|^pytest_add_cli_args_test_selection = .*|pytest_add_cli_args_test_selection = [${selection%, }]|" \
        "$stage/pyproject.toml"
fi
cd "$stage"
# Hypothesis finds a failing example for a mutant and does not shrink it (tests/conftest.py).
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-mutation}"
if [ $# -eq 0 ]; then
    set -- run
fi
if [ "$1" = run ]; then
    # A fresh mutant tree for every run: the source or the tests may have changed since.
    rm -rf "$stage/mutants"
    shift
    set -- run --max-children "${MUTATION_JOBS:-2}" "$@"
fi
PATH="$venv/bin:$PATH" exec nice -n 19 "$venv/bin/mutmut" "$@"
