package webhooks

import (
	"strconv"
	"strings"
)

// badCase is an ExposedAPI the API server must refuse, and the exact reason it gives.
type badCase struct {
	name string
	// spec fields set (nil deletes the field) over a valid spec.
	spec map[string]any
	// labels replace the valid labels when not nil.
	labels map[string]any
	// want is the text after `is invalid: `.
	want string
	// bySchema: the CRD's schema refuses it before our validating webhook runs.
	bySchema bool
}

const pathChars = "use letters, digits, '-._~!$&'()*+,;=:@/' or %-escapes"

func badPath(field, value string, offset int, char string) string {
	return field + `: Invalid value: ` + strconv.Quote(value) + `: character ` + char + ` at offset ` + strconv.Itoa(offset) + ` cannot be in a URI path prefix; ` + pathChars
}

func badTail(field, value string, offset int, char string) string {
	return field + `: Invalid value: ` + strconv.Quote(value) + `: character ` + char + ` at offset ` + strconv.Itoa(offset) +
		` cannot be in a URI query or fragment; use letters, digits, '-._~!$&'()*+,;=:@/?', one '#' before a fragment, or %-escapes`
}

const specURL = "must be an absolute http or https URL, e.g. https://example.com/api/openapi.yaml"

const specURLRequired = "the URL of the API's specification document, e.g. https://example.com/api/openapi.yaml"

const dotsMsg = `names no path: its "." and ".." segments clean to "/", which routes every path of the host; write "/" if that is meant`

const urlMsg = "must be a path on the API's host, like /docs, not a URL: the operator makes the URL from the host"

const hostMsg = "must be a DNS name or a wildcard like *.example.com, lower case: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

const hostIPMsg = "must be a DNS name, a wildcard like *.example.com, or an IPv4 address like 192.0.2.10"

const svcMsg = "must be the name of a Service in the same namespace: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"

var badCases = []badCase{
	{name: "port-zero", spec: map[string]any{"port": 0}, want: "spec.port: Invalid value: 0: must be a port number from 1 to 65535"},
	{name: "port-absent", spec: map[string]any{"port": nil}, bySchema: true, want: "spec.port: Required value"},
	{name: "port-too-big", spec: map[string]any{"port": 70000}, want: "spec.port: Invalid value: 70000: must be a port number from 1 to 65535"},
	{name: "port-65536", spec: map[string]any{"port": 65536}, want: "spec.port: Invalid value: 65536: must be a port number from 1 to 65535"},
	{name: "port-negative", spec: map[string]any{"port": -1}, want: "spec.port: Invalid value: -1: must be a port number from 1 to 65535"},
	{name: "impl-underscore", spec: map[string]any{"implementation": "catalog_api"}, want: `spec.implementation: Invalid value: "catalog_api": ` + svcMsg},
	{name: "impl-digit-first", spec: map[string]any{"implementation": "1catalog"}, want: `spec.implementation: Invalid value: "1catalog": ` + svcMsg},
	{name: "impl-upper", spec: map[string]any{"implementation": "Catalog"}, want: `spec.implementation: Invalid value: "Catalog": ` + svcMsg},
	{name: "impl-empty", spec: map[string]any{"implementation": ""}, want: "spec.implementation: Required value: the name of the Service that implements the API"},
	{name: "impl-too-long", spec: map[string]any{"implementation": strings.Repeat("a", 64)}, want: `spec.implementation: Invalid value: "` + strings.Repeat("a", 64) + `": must be the name of a Service in the same namespace: must be no more than 63 characters`},
	{name: "path-empty", spec: map[string]any{"path": ""}, want: "spec.path: Required value: the root path of the API, e.g. /tmf-api/productCatalogManagement/v4"},
	{name: "path-space", spec: map[string]any{"path": "/a b"}, want: badPath("spec.path", "/a b", 2, "' '")},
	{name: "path-query", spec: map[string]any{"path": "/a?b"}, want: badPath("spec.path", "/a?b", 2, "'?'")},
	{name: "path-fragment", spec: map[string]any{"path": "/a#frag"}, want: badPath("spec.path", "/a#frag", 2, "'#'")},
	{name: "path-bad-escape", spec: map[string]any{"path": "/a%zz"}, want: badPath("spec.path", "/a%zz", 2, "'%'")},
	{name: "path-tab", spec: map[string]any{"path": "/a\tb"}, want: `spec.path: Invalid value: "/a\tb": character '\t' at offset 2 cannot be in a URI path prefix; ` + pathChars},
	{name: "path-non-ascii", spec: map[string]any{"path": "/café"}, want: badPath("spec.path", "/café", 4, "'é'")},
	{name: "path-angle", spec: map[string]any{"path": "/a<b>"}, want: badPath("spec.path", "/a<b>", 2, "'<'")},
	{name: "path-quote", spec: map[string]any{"path": `/a"b`}, want: badPath("spec.path", `/a"b`, 2, `'"'`)},
	{name: "path-backslash", spec: map[string]any{"path": `/a\b`}, want: badPath("spec.path", `/a\b`, 2, `'\\'`)},
	{name: "path-dots", spec: map[string]any{"path": "/.."}, want: `spec.path: Invalid value: "/..": ` + dotsMsg},
	{name: "path-dot-dots", spec: map[string]any{"path": "/./.."}, want: `spec.path: Invalid value: "/./..": ` + dotsMsg},
	{name: "path-climbs-to-root", spec: map[string]any{"path": "catalog/.."}, want: `spec.path: Invalid value: "catalog/..": ` + dotsMsg},
	{name: "path-url", spec: map[string]any{"path": "https://api.example.com/catalog"}, want: `spec.path: Invalid value: "https://api.example.com/catalog": ` + urlMsg},
	{name: "devui-dots", spec: map[string]any{"developerUI": "/."}, want: `spec.developerUI: Invalid value: "/.": ` + dotsMsg},
	{name: "devui-url", spec: map[string]any{"developerUI": "https://docs.example.com/ui"}, want: `spec.developerUI: Invalid value: "https://docs.example.com/ui": ` + urlMsg},
	{name: "devui-space", spec: map[string]any{"developerUI": "/docs page"}, want: badPath("spec.developerUI", "/docs page", 5, "' '")},
	{name: "devui-query-space", spec: map[string]any{"developerUI": "/docs?x=a b"}, want: badTail("spec.developerUI", "/docs?x=a b", 9, "' '")},
	{name: "devui-two-fragments", spec: map[string]any{"developerUI": "/docs#a#b"}, want: badTail("spec.developerUI", "/docs#a#b", 7, "'#'")},
	{name: "spec-ftp", spec: map[string]any{"specification": map[string]any{"url": "ftp://e.com/a.yaml"}}, want: `spec.specification.url: Invalid value: "ftp://e.com/a.yaml": ` + specURL},
	{name: "spec-not-url", spec: map[string]any{"specification": map[string]any{"url": "not a url"}}, want: `spec.specification.url: Invalid value: "not a url": ` + specURL},
	{name: "spec-relative", spec: map[string]any{"specification": map[string]any{"url": "/openapi.yaml"}}, want: `spec.specification.url: Invalid value: "/openapi.yaml": ` + specURL},
	{name: "spec-no-host", spec: map[string]any{"specification": map[string]any{"url": "https://"}}, want: `spec.specification.url: Invalid value: "https://": ` + specURL},
	{name: "spec-empty-object", spec: map[string]any{"specification": map[string]any{}}, want: "spec.specification.url: Required value: " + specURLRequired},
	// Keys are case-sensitive, as the schema's: "URL" is no url (the canvas's CRD prunes it).
	{name: "spec-upper-case-key", spec: map[string]any{"specification": map[string]any{"URL": "https://e.com/a.yaml"}}, want: "spec.specification.url: Required value: " + specURLRequired},
	{name: "spec-legacy-string-bad", spec: map[string]any{"specification": "mailto:api@example.com"}, want: `spec.specification.url: Invalid value: "mailto:api@example.com": ` + specURL},
	{name: "spec-legacy-list-bad", spec: map[string]any{"specification": []any{"ftp://e.com/a.yaml", "https://e.com/b.yaml"}}, want: `spec.specification.url: Invalid value: "ftp://e.com/a.yaml": ` + specURL},
	{name: "host-underscore", spec: map[string]any{"hostname": "bad_host.example.com"}, want: `spec.hostname: Invalid value: "bad_host.example.com": ` + hostMsg},
	{name: "host-double-wildcard", spec: map[string]any{"hostname": "*.*.example.com"}, want: `spec.hostname: Invalid value: "*.*.example.com": ` + hostMsg},
	{name: "host-leading-dash", spec: map[string]any{"hostname": "-api.example.com"}, want: `spec.hostname: Invalid value: "-api.example.com": ` + hostMsg},
	{name: "host-with-port", spec: map[string]any{"hostname": "api.example.com:8443"}, want: `spec.hostname: Invalid value: "api.example.com:8443": ` + hostMsg},
	{name: "host-upper", spec: map[string]any{"hostname": "API.example.com"}, want: `spec.hostname: Invalid value: "API.example.com": ` + hostMsg},
	{name: "host-long-label", spec: map[string]any{"hostname": strings.Repeat("a", 64) + ".example.com"}, want: `spec.hostname: Invalid value: "` + strings.Repeat("a", 64) + `.example.com": each dot-separated part of a DNS name must be no more than 63 characters`},
	{name: "host-two-dots", spec: map[string]any{"hostname": "api.example.com.."}, want: `spec.hostname: Invalid value: "api.example.com..": ` + hostMsg},
	{name: "host-dot", spec: map[string]any{"hostname": "."}, want: `spec.hostname: Invalid value: ".": ` + hostMsg},
	{name: "host-wildcard-dot", spec: map[string]any{"hostname": "*."}, want: `spec.hostname: Invalid value: "*.": ` + hostMsg},
	{name: "host-bad-ipv4", spec: map[string]any{"hostname": "10.0.0.256"}, want: `spec.hostname: Invalid value: "10.0.0.256": ` + hostIPMsg},
	{name: "host-numeric-tld", spec: map[string]any{"hostname": "api.example.123"}, want: `spec.hostname: Invalid value: "api.example.123": ` + hostIPMsg},
	{name: "host-wildcard-ipv4", spec: map[string]any{"hostname": "*.10.0.0.1"}, want: `spec.hostname: Invalid value: "*.10.0.0.1": ` + hostIPMsg},
	{name: "apitype-unknown", spec: map[string]any{"apiType": "graphql"}, bySchema: true,
		want: `spec.apiType: Unsupported value: "graphql": supported values: "openapi", "prometheus", "openmetrics", "mcp"`},
	{name: "segment-unknown", spec: map[string]any{"segment": "edgeFunction"}, bySchema: true,
		want: `spec.segment: Unsupported value: "edgeFunction": supported values: "coreFunction", "managementFunction", "securityFunction"`},
	{name: "name-empty", spec: map[string]any{"name": ""}, want: "spec.name: Required value: the name of the API"},
	{name: "cors-origin-no-scheme", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "shop.example.com"}},
		want: `spec.CORS.allowOrigins: Invalid value: "shop.example.com": each comma-separated entry must be * or an origin like https://shop.example.com (scheme and host, no path): shop.example.com`},
	{name: "cors-origin-bare-wildcard", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "https://*"}},
		want: `spec.CORS.allowOrigins: Invalid value: "https://*": a * can stand only as the first label of an origin's host, as in https://*.example.com (any host under example.com): https://*`},
	{name: "cors-origin-inner-wildcard", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "https://a.com, https://api.*.com"}},
		want: `spec.CORS.allowOrigins: Invalid value: "https://a.com, https://api.*.com": a * can stand only as the first label of an origin's host, as in https://*.example.com (any host under example.com): https://api.*.com`},
	{name: "cors-origin-port", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "https://a.com:99999"}},
		want: `spec.CORS.allowOrigins: Invalid value: "https://a.com:99999": an origin's port must be a number from 1 to 65535: https://a.com:99999`},
	{name: "cors-origin-path", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "https://a.com, https://b.com/app"}},
		want: `spec.CORS.allowOrigins: Invalid value: "https://a.com, https://b.com/app": each comma-separated entry must be * or an origin like https://shop.example.com (scheme and host, no path): https://b.com/app`},
	{name: "cors-credentials-wildcard", spec: map[string]any{"CORS": map[string]any{"allowOrigins": "*", "allowCredentials": true}},
		want: "spec.CORS.allowCredentials: Invalid value: true: cannot be true while allowOrigins is *: browsers refuse credentials with a wildcard origin"},
	{name: "cors-credentials-default-wildcard", spec: map[string]any{"CORS": map[string]any{"enabled": true, "allowCredentials": true}},
		want: "spec.CORS.allowCredentials: Invalid value: true: cannot be true while allowOrigins is left out, which allows any origin (*): browsers refuse credentials with a wildcard origin; list the origins"},
	{name: "cors-origins-commas", spec: map[string]any{"CORS": map[string]any{"enabled": true, "allowOrigins": " , "}},
		want: `spec.CORS.allowOrigins: Invalid value: " , ": lists no origin: give at least one, or leave it out for the default (*, any origin)`},
	{name: "cors-methods-commas", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"allowMethods": ","}}},
		want: `spec.CORS.handlePreflightRequests.allowMethods: Invalid value: ",": lists no method: give at least one, or leave it out for the default (GET, POST, HEAD, OPTIONS)`},
	{name: "cors-headers-commas", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"allowHeaders": ",,"}}},
		want: `spec.CORS.handlePreflightRequests.allowHeaders: Invalid value: ",,": lists no header: give at least one, or leave it out for the default (the schema's default headers)`},
	// A metrics API's basicAuth becomes its ServiceMonitor's: a misspelt key would be lost.
	{name: "basicauth-misspelt", spec: map[string]any{"apiType": "prometheus", "basicAuth": map[string]any{
		"username": map[string]any{"name": "creds", "key": "user"}, "pasword": map[string]any{"name": "creds", "key": "pass"}}},
		want: `spec.basicAuth: Invalid value: {"pasword":{"key":"pass","name":"creds"},"username":{"key":"user","name":"creds"}}: unknown field(s) pasword; the fields are username, password`},
	{name: "cors-method-lower", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"allowMethods": "get"}}},
		want: `spec.CORS.handlePreflightRequests.allowMethods: Invalid value: "get": each comma-separated entry must be an upper-case HTTP method like GET or POST: get`},
	{name: "cors-method-space", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"allowMethods": "GET, PO ST"}}},
		want: `spec.CORS.handlePreflightRequests.allowMethods: Invalid value: "GET, PO ST": each comma-separated entry must be an upper-case HTTP method like GET or POST: PO ST`},
	{name: "cors-header-space", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"allowHeaders": "Content Type"}}},
		want: `spec.CORS.handlePreflightRequests.allowHeaders: Invalid value: "Content Type": each comma-separated entry must be an HTTP header name like Content-Type: Content Type`},
	{name: "cors-maxage-negative", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"maxAge": -5}}},
		want: "spec.CORS.handlePreflightRequests.maxAge: Invalid value: -5: must be 0 or more seconds"},
	{name: "cors-maxage-overflow", spec: map[string]any{"CORS": map[string]any{"handlePreflightRequests": map[string]any{"maxAge": 9223372037}}},
		want: "spec.CORS.handlePreflightRequests.maxAge: Invalid value: 9223372037: must be at most 2147483647 seconds"},
	{name: "ratelimit-interval", spec: map[string]any{"rateLimit": map[string]any{"interval": "ph"}},
		want: `spec.rateLimit.interval: Unsupported value: "ph": supported values: "ps", "pm"`},
	{name: "ratelimit-limit-word", spec: map[string]any{"rateLimit": map[string]any{"limit": "ten"}},
		want: `spec.rateLimit.limit: Invalid value: "ten": must be a whole number greater than 0, written as a string, e.g. "100"`},
	{name: "ratelimit-limit-zero", spec: map[string]any{"rateLimit": map[string]any{"limit": "0"}},
		want: `spec.rateLimit.limit: Invalid value: "0": must be a whole number greater than 0, written as a string, e.g. "100"`},
	{name: "ratelimit-limit-over-uint32", spec: map[string]any{"rateLimit": map[string]any{"limit": "4294967296"}},
		want: `spec.rateLimit.limit: Invalid value: "4294967296": must be at most 4294967295`},
	{name: "quota-negative", spec: map[string]any{"quota": map[string]any{"limit": "-3"}},
		want: `spec.quota.limit: Invalid value: "-3": must be a whole number greater than 0, written as a string, e.g. "100"`},
	{name: "apikey-location-space", spec: map[string]any{"apiKeyVerification": map[string]any{"enabled": true, "location": "X API Key"}},
		want: `spec.apiKeyVerification.location: Invalid value: "X API Key": ` + locationMsg},
	{name: "apikey-location-empty-param", spec: map[string]any{"apiKeyVerification": map[string]any{"enabled": true, "location": "?"}},
		want: `spec.apiKeyVerification.location: Invalid value: "?": ` + locationMsg},
	{name: "apikey-location-param-amp", spec: map[string]any{"apiKeyVerification": map[string]any{"location": "?a&b"}},
		want: `spec.apiKeyVerification.location: Invalid value: "?a&b": ` + locationMsg},
	{name: "no-component-label", labels: map[string]any{"app": "x"},
		want: "metadata.labels[oda.tmforum.org/componentName]: Required value: the name of the ODA Component this API belongs to"},
	{name: "bad-component-label", labels: map[string]any{"oda.tmforum.org/componentName": "-shop"}, bySchema: true,
		want: `metadata.labels: Invalid value: "-shop": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
	{name: "two-errors", spec: map[string]any{"port": 0, "implementation": "Bad"},
		want: `[spec.implementation: Invalid value: "Bad": ` + svcMsg + `, spec.port: Invalid value: 0: must be a port number from 1 to 65535]`},
}

const locationMsg = "must be an HTTP header name like X-API-Key, or ? and a query parameter name like ?apikey; empty means the Authorization bearer token"
