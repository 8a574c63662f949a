#!/usr/bin/env bash
# Build the deployable CloudFormation/SAM template: chalice package + every infra/ fragment,
# then lint it. Usage: scripts/package.sh OUT_DIR   (what `make package` runs)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out}"
bin="${VENV:-.venv}/bin"
# chalice package resolves ARNs with a region; the template itself stays region-neutral.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
mkdir -p build
"$bin/python" scripts/merge_infra.py > build/infra-merged.json
rm -rf "$out"
"$bin/chalice" package --stage prod --merge-template build/infra-merged.json "$out"
"$bin/cfn-lint" "$out/sam.json"
echo "packaged: $out/sam.json + $out/deployment.zip (cfn-lint clean)"
