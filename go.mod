module github.com/stickerd/stickerd

go 1.26.8

require (
	github.com/u2takey/ffmpeg-go v0.5.0
	golang.org/x/image v0.48.0
)

require (
	github.com/aws/aws-sdk-go v1.38.20 // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/u2takey/go-utils v0.3.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
