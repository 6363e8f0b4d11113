module hello-oci

go 1.19
