module github.com/logos-messaging/libsds-go

go 1.26

require (
	github.com/dgryski/go-farm v0.0.0-20240924180020-3414d57e47da
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
