package togetherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	resp, err := c.do(ctx, call{method: http.MethodGet, path: secretsPath, idempotent: true, maxBody: MaxListBytes})
	if err != nil {
		return nil, nil, err
	}
	if !isJSON(resp.header) {
		return nil, nil, &MalformedError{Detail: fmt.Sprintf("HTTP %d with content type %q", resp.status, clean(resp.scrub, resp.header.Get("Content-Type")))}
	}
	list, err := decodeList(resp.body, resp.scrub)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP %d: %w", resp.status, err)
	}
	return list, resp.header, nil
}

// decodeList reads ListSecretsResponse one item at a time, so a list of tens
// of thousands of secrets costs their metadata and little more.
func decodeList(body []byte, scrub Scrubber) ([]Secret, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrMalformedResponse
	}
	var out []Secret
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, ErrMalformedResponse
		}
		if key != "data" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil, ErrMalformedResponse
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, ErrMalformedResponse
		}
		out = []Secret{}
		var raw json.RawMessage
		for dec.More() {
			if err := dec.Decode(&raw); err != nil {
				return nil, ErrMalformedResponse
			}
			s, err := decodeSecret(raw, scrub, sent{})
			if errors.Is(err, ErrMalformedResponse) && len(raw) > 0 && raw[0] == '{' {
				continue // an entry with no id is no secret anyone can act on
			} else if err != nil {
				return nil, err
			}
			out = append(out, *s)
		}
		if _, err := dec.Token(); err != nil {
			return nil, ErrMalformedResponse
		}
	}
	if out == nil {
		return nil, ErrMalformedResponse
	}
	return out, nil
}
