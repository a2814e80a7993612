package payload

// Bucket and keeper drivers linked into prdeploy. Each registers its URL
// scheme with gocloud.dev's default URL muxes, which Open uses.
//
// The cloud drivers are not linked yet: each needs requirements that go.mod
// does not list (s3blob: github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager;
// gcsblob and gcpkms: github.com/google/wire, and gcpkms also
// cloud.google.com/go/kms; azureblob and azurekeyvault: the Azure SDK; awskms:
// github.com/aws/aws-sdk-go-v2/service/kms; hashivault is a separate module).
// Adding one is a blank import here plus those requirements.
import (
	_ "gocloud.dev/blob/fileblob" // file:///abs/dir
	_ "gocloud.dev/blob/memblob"  // mem://

	_ "gocloud.dev/secrets/localsecrets" // base64key://<32 bytes, URL-safe base64>
)
