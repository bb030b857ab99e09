#!/usr/bin/env bash
# Mutation testing over the safety layer and the stop path: a surviving mutant is a missing test.
#
#   tools/mutation.sh                 # mutate, test, print the score (low CPU priority)
#   tools/mutation.sh results         # any mutmut command, run in the staging tree
#
# mutmut names a mutant's module after its file's path (safety/limits.py -> safety.limits), but
# the project installs as massagectl.safety.limits; so the folders are staged below a
# massagectl/ folder (.mutation/massagectl/safety, ...) where the two agree, and mutmut runs
# there. Which files are mutated and which tests judge them: [tool.mutmut] in pyproject.toml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage="$root/.mutation"
python="$root/.venv/bin/python"
mutmut="$root/.venv/bin/mutmut"

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
# A fresh mutant tree each time: the source or the tests may have changed since the last run.
cd "$stage"
if [ $# -eq 0 ]; then
    rm -rf "$stage/mutants"
    set -- run --max-children "${MUTATION_JOBS:-2}"
fi
PATH="$root/.venv/bin:$PATH" exec nice -n 19 "$mutmut" "$@"
