# Build: make docker-build (or docker build -t api-operator-istio .)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY certs/ certs/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY webhooks/ webhooks/
ARG TARGETOS=linux TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/api-operator-istio ./cmd/api-operator-istio

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api-operator-istio /api-operator-istio
USER 65532:65532
ENTRYPOINT ["/api-operator-istio"]
