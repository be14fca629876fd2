package blob

// The layout of the blob store, shared by the asset service that writes
// uploads and the workers that read them and write outputs.

// AssetKey is the blob key of a tenant's uploaded asset.
func AssetKey(tenant, assetID string) string { return "assets/" + tenant + "/" + assetID }

// OutputKey is the blob key of a job's output.
func OutputKey(tenant, jobID, format string) string {
	return "outputs/" + tenant + "/" + jobID + "." + format
}
