# syntax=docker/dockerfile:1
# Build: docker build -t together-secrets-mcp .
# Run:   docker run -i --rm -e TOGETHER_API_KEY together-secrets-mcp            (stdio)
#        docker run --rm -p 8080:8080 together-secrets-mcp --http=:8080 --behind-tls-proxy
#                                        (HTTP, each caller's own key; put TLS in front)

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN scripts/build.sh /out/together-secrets-mcp "${VERSION}"

# Static binary, no shell, no package manager, not root.
FROM gcr.io/distroless/static-debian12:nonroot
# The official MCP registry checks that the image names the server it lists.
LABEL io.modelcontextprotocol.server.name="io.github.together-secrets-mcp/together-secrets-mcp"
COPY --from=build /out/together-secrets-mcp /together-secrets-mcp
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/together-secrets-mcp"]
