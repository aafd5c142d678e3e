module github.com/logos-messaging/libsds-go

go 1.26

require (
	github.com/dgryski/go-farm v0.0.0-20240924180020-3414d57e47da
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/stretchr/testify v1.12.1
	go.uber.org/zap v1.28.0
	google.golang.org/protobuf v1.36.12
)

require (
	go.uber.org/multierr v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
