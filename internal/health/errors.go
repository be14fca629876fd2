package health

import "errors"

// ErrSlowBody is what reading a request body returns once the client sent
// it slower than ServerConfig.MinBodyRate; the connection is then closed.
var ErrSlowBody = errors.New("health: the request body arrived too slowly")
