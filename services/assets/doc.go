// Package assets stores the files tenants upload with POST /v1/assets:
// the bytes in the blob store at blob.AssetKey, where render workers look
// them up, and a small JSON record in etcd that says what the file is. An
// upload is probed (ffprobe for videos and images, sfnt for fonts) before
// anything is committed, so a stored asset is always one the render engine
// can read.
package assets
