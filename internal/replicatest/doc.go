// Package replicatest holds the test that runs the reference server as two replicas on one
// PostgreSQL database and one S3 bucket (store/pgstore), the way it runs at scale: parts of one
// upload are sent to both, the upload is completed on one while the other tries to cancel it,
// and the file must download byte for byte the same from both. It has no code of its own.
package replicatest
