package blob

import "strconv"

// The layout of the blob store, shared by the asset service that writes
// uploads and the workers that read them and write outputs.

// AssetKey is the blob key of a tenant's uploaded asset.
func AssetKey(tenant, assetID string) string { return "assets/" + tenant + "/" + assetID }

// OutputKey is the blob key of one attempt's output: it carries the
// attempt's fencing token, so that an attempt the scheduler no longer
// accepts (a worker that woke from a pause after its job moved on) writes
// beside the accepted output, never over it. The job record names the
// accepted attempt's key.
func OutputKey(tenant, jobID string, fence int64, format string) string {
	return "outputs/" + tenant + "/" + jobID + "-" + strconv.FormatInt(fence, 10) + "." + format
}

// PartKey is the blob key of one attempt's file of part index of a split
// job: the fencing token keeps a refused attempt's file beside the
// accepted one's, as OutputKey does. ext is the file's extension, with its
// dot.
func PartKey(tenant, jobID string, index int, fence int64, ext string) string {
	return "parts/" + tenant + "/" + jobID + "/" + strconv.Itoa(index) + "-" + strconv.FormatInt(fence, 10) + ext
}
