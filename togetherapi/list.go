package togetherapi

import (
	"context"
	"fmt"
	"net/http"
)

// ListSecrets returns the metadata of every secret. The API does not page.
func (c *Client) ListSecrets(ctx context.Context) ([]Secret, error) {
	ctx, cancel := c.budget(ctx)
	defer cancel()
	list, _, err := c.listSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return list, nil
}

func (c *Client) listSecrets(ctx context.Context) ([]Secret, http.Header, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: secretsPath, idempotent: true, maxBody: maxListBytes})
	if err != nil {
		return nil, nil, err
	}
	list, err := decodeSecrets(resp)
	if err != nil {
		return nil, nil, err
	}
	return list, resp.header, nil
}
