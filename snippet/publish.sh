#!/usr/bin/env bash
# Publishes snippet/dist to the CDN that infra/cdn.json declares.
#   usage: snippet/publish.sh STACK_NAME      (after: cd snippet && npm ci && npm run build)
# Content-hashed files go first, cached for a year; then the stable URLs (dni.js,
# callback.js, manifest.json), cached five minutes and invalidated, so a site never gets
# a loader that points at a file not yet uploaded.
set -euo pipefail
stack=${1:?usage: snippet/publish.sh STACK_NAME}
dist="$(cd "$(dirname "$0")" && pwd)/dist"
[ -f "$dist/dni.js" ] || { echo "no $dist/dni.js: run npm run build first" >&2; exit 1; }

output() {
  aws cloudformation describe-stacks --stack-name "$stack" --output text \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue"
}
bucket=$(output SnippetBucketName)
distribution=$(output SnippetDistributionId)
js='text/javascript; charset=utf-8'

aws s3 sync "$dist" "s3://$bucket/" --exclude '*' --include '*.*.js' \
  --content-type "$js" --cache-control 'public, max-age=31536000, immutable'
for file in dni.js callback.js; do
  aws s3 cp "$dist/$file" "s3://$bucket/$file" --content-type "$js" --cache-control 'public, max-age=300'
done
aws s3 cp "$dist/manifest.json" "s3://$bucket/manifest.json" \
  --content-type 'application/json' --cache-control 'public, max-age=300'
aws cloudfront create-invalidation --distribution-id "$distribution" \
  --paths /dni.js /callback.js /manifest.json --query 'Invalidation.Id' --output text
echo "published: $(output SnippetUrl)"
