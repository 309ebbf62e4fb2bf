package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

const storedList = `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","labels":{"x":"1"}},"spec":{"name":"a",` +
	`"apiType":"openapi","implementation":"impl","path":"/a//b/","port":8080,"specification":[{"url":"https://e.com/a"},{"url":"https://e.com/b"}]}}`

func request(op admissionv1.Operation, version string, oldRaw, newRaw string) admission.Request {
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation:   op,
		Kind:        metav1.GroupVersionKind{Group: "oda.tmforum.org", Version: "v1", Kind: "ExposedAPI"},
		RequestKind: &metav1.GroupVersionKind{Group: "oda.tmforum.org", Version: version, Kind: "ExposedAPI"},
		Object:      runtime.RawExtension{Raw: []byte(newRaw)},
	}}
	if oldRaw != "" {
		req.OldObject = runtime.RawExtension{Raw: []byte(oldRaw)}
	}
	return req
}

func TestDefaulterLeavesAStoredSpecAlone(t *testing.T) {
	relabelled := `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","labels":{"x":"2"}},"status":{"ready":true},` +
		storedList[len(`{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","labels":{"x":"1"}},`):]
	resp := Defaulter{}.Handle(context.Background(), request(admissionv1.Update, "v1", storedList, relabelled))
	require.True(t, resp.Allowed)
	assert.Empty(t, resp.Patches, "no conversion, no new default on a write that keeps the spec")

	edited := `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a"},"spec":{"name":"a","apiType":"openapi",` +
		`"implementation":"impl","path":"/c","port":8080,"specification":[{"url":"https://e.com/a"},{"url":"https://e.com/b"}]}}`
	resp = Defaulter{}.Handle(context.Background(), request(admissionv1.Update, "v1", storedList, edited))
	require.True(t, resp.Allowed)
	assert.NotEmpty(t, resp.Patches, "a spec edit is defaulted")
	assert.Len(t, resp.Warnings, 1)
}

func TestDefaulterKeepsAnOlderVersionsShape(t *testing.T) {
	resp := Defaulter{}.Handle(context.Background(), request(admissionv1.Create, "v1beta4", "", storedList))
	require.True(t, resp.Allowed)
	paths := map[string]any{}
	for _, p := range resp.Patches {
		paths[p.Path] = p.Value
	}
	assert.Equal(t, map[string]any{"/spec/path": "/a/b"}, paths, "only the path is normalised: no segment, the list kept")
	assert.Equal(t, []string{"spec.specification: written as v1beta4, a list of 2; the operator exposes the first entry (the v1 meaning), but a CRD that stores v1 (the canvas's does) keeps no url or version of any entry: write the ExposedAPI as v1, with specification {url, version}, to keep them"}, resp.Warnings)
}

func TestDefaulterKeepsAnOlderListOfURLs(t *testing.T) {
	_, warnings, err := DefaultOlder([]byte(`{"spec":{"specification":["https://e.com/a","https://e.com/b"]}}`), "v1beta3")
	require.NoError(t, err)
	assert.Equal(t, []string{"spec.specification: written as v1beta3, a list of 2; the operator exposes the first entry (the v1 meaning) and keeps the others as written"}, warnings)

	_, warnings, err = DefaultOlder([]byte(`{"spec":{"specification":[{"url":"https://e.com/a"}]}}`), "v1beta4")
	require.NoError(t, err)
	require.Len(t, warnings, 1, "one object is lost on a CRD that stores v1 as a list of several is")
	assert.Contains(t, warnings[0], "keeps no url or version of any entry")
}

func TestDefaultDropsEntriesThatLostTheirFields(t *testing.T) {
	out, warnings, err := Default([]byte(`{"spec":{"path":"/a","specification":[{},{}]}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"spec":{"path":"/a","segment":"coreFunction"}}`, string(out))
	assert.Equal(t, []string{"spec.specification: 2 of the 2 entries of a list (an older shape) reached the webhook with no fields " +
		"(this CRD's v1 schema holds one object {url, version} here, and the API server pruned them); write the v1 object {url, version}"}, warnings)

	out, warnings, err = Default([]byte(`{"spec":{"path":"/a","specification":[{},"https://e.com/b"]}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"spec":{"path":"/a","segment":"coreFunction","specification":{"url":"https://e.com/b"}}}`, string(out))
	assert.Len(t, warnings, 2)
}

func TestOlderSpecificationEntries(t *testing.T) {
	errs := olderSpecification([]byte(`{"spec":{"specification":[{},{}]}}`), nil)
	assert.Empty(t, errs, "entries whose fields the canvas CRD pruned when it stored them are written back as they were read")

	errs = olderSpecification([]byte(`{"spec":{"specification":["https://e.com/a",{"URL":"https://e.com/b"},["x"]]}}`), nil)
	require.Len(t, errs, 2)
	assert.Equal(t, "spec.specification[1].url: Required value: the URL of the API's specification document, e.g. https://example.com/api/openapi.yaml", errs[0].Error())
	assert.Equal(t, "spec.specification[2]", errs[1].Field)
}

const objectWithoutPath = `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","namespace":"n",` +
	`"labels":{"oda.tmforum.org/componentName":"c"}},"spec":{"name":"a","apiType":"openapi","implementation":"impl",` +
	`"port":8080,"segment":"coreFunction",`

// TestSpecificationFieldOfTheWrongType (R2.2): our CRD leaves specification schemaless, so
// a url or version that is not a string reaches the validator, which names it as written,
// not as missing.
func TestSpecificationFieldOfTheWrongType(t *testing.T) {
	for name, c := range map[string]struct{ spec, want string }{
		"url-number":      {`"specification":{"url":5}`, `spec.specification.url: Invalid value: 5: must be a string`},
		"version-number":  {`"specification":{"url":"https://e.com/a.yaml","version":4}`, `spec.specification.version: Invalid value: 4: must be a string`},
		"list-url-number": {`"specification":[{"url":5}]`, `spec.specification.url: Invalid value: 5: must be a string`},
		"url-object":      {`"specification":{"url":{"x":1},"version":"v4"}`, `spec.specification.url: Invalid value: {"x":1}: must be a string`},
	} {
		t.Run(name, func(t *testing.T) {
			raw := objectWithoutPath + `"path":"/a",` + c.spec + `}}`
			out, _, err := Default([]byte(raw))
			require.NoError(t, err)
			resp := (&Validator{}).Handle(context.Background(), request(admissionv1.Create, "v1", "", string(out)))
			require.False(t, resp.Allowed, "a specification field that is not a string is refused")
			require.NotNil(t, resp.Result)
			assert.Contains(t, resp.Result.Message, c.want)
			assert.NotContains(t, resp.Result.Message, "Required value", "the field was written")
		})
	}
}

// A null first entry of a list is no shape of any version: read as an empty entry, it let
// [null, "https://..."] be stored with its URL out of reach of the v1 object.
func TestSpecificationListWithNullFirst(t *testing.T) {
	raw := objectWithoutPath + `"path":"/a","specification":[null,"https://e.com/a.yaml"]}}`
	out, _, err := Default([]byte(raw))
	require.NoError(t, err)
	resp := (&Validator{}).Handle(context.Background(), request(admissionv1.Create, "v1", "", string(out)))
	require.False(t, resp.Allowed, "a list whose first entry is null is refused")
	require.NotNil(t, resp.Result)
	assert.Contains(t, resp.Result.Message, `spec.specification: Invalid value: null: must be an object {url, version}`)
}

// An entry of an older version's list is named as written, its fields too.
func TestOlderSpecificationEntryOfTheWrongType(t *testing.T) {
	errs := olderSpecification([]byte(`{"spec":{"specification":[{"url":"https://e.com/a"},{"url":5},{"url":"https://e.com/c","version":4}]}}`), nil)
	require.Len(t, errs, 2)
	assert.Equal(t, "spec.specification[1].url: Invalid value: 5: must be a string", errs[0].Error())
	assert.Equal(t, "spec.specification[2].version: Invalid value: 4: must be a string", errs[1].Error())
}

// TestDroppedEntriesTooLongToWarn (R2.1, "never silently lost"): the entries a v1 object
// cannot keep are named in a warning; when the API server would cut that warning short,
// the write is refused instead.
func TestDroppedEntriesTooLongToWarn(t *testing.T) {
	list := func(n, size int) string {
		var entries []string
		for i := range n {
			entries = append(entries, fmt.Sprintf(`{"url":"https://e.com/%d/%s.yaml","version":"v%d"}`, i, strings.Repeat("x", size), i))
		}
		return `"specification":[` + strings.Join(entries, ",") + `]}}`
	}
	raw := objectWithoutPath + `"path":"/a",` + list(12, 300)
	resp := Defaulter{}.Handle(context.Background(), request(admissionv1.Create, "v1", "", raw))
	require.False(t, resp.Allowed)
	require.NotNil(t, resp.Result)
	assert.Equal(t, int32(http.StatusUnprocessableEntity), resp.Result.Code)
	assert.Contains(t, resp.Result.Message, `ExposedAPI.oda.tmforum.org "a" is invalid: spec.specification: Forbidden: a list (an older shape)`)

	raw = objectWithoutPath + `"path":"/a",` + list(4, 300)
	resp = Defaulter{}.Handle(context.Background(), request(admissionv1.Create, "v1", "", raw))
	require.True(t, resp.Allowed, "entries a warning can name in full")
	require.Len(t, resp.Warnings, 1)
	for i := 1; i < 4; i++ {
		assert.Contains(t, resp.Warnings[0], fmt.Sprintf("https://e.com/%d/", i))
	}
}

// A v1beta4 ExposedAPI stored before the webhooks on the canvas CRD (storage v1: the fields
// of the list's entries pruned), with a problem defaulting cannot fix (implementation not a
// Service name) and a path never normalised.
const storedBeta4 = `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","namespace":"n","labels":{"oda.tmforum.org/componentName":"c"}},` +
	`"spec":{"name":"a","apiType":"openapi","implementation":"Catalog_Svc","path":"/a/","port":8080,"specification":[{}]}}`

// reappliedBeta4 is the manifest storedBeta4 was created from, with labels, as kubectl apply
// sends it again: its three-way merge sends the list whole, url and version included, which
// the API server prunes again only after the webhooks.
func reappliedBeta4(labels, spec string) string {
	return `{"apiVersion":"oda.tmforum.org/v1","kind":"ExposedAPI","metadata":{"name":"a","namespace":"n","labels":{` + labels + `}},` +
		`"spec":{"name":"a","apiType":"openapi","implementation":"Catalog_Svc","port":8080,` + spec + `}}`
}

const beta4List = `"specification":[{"url":"https://e.com/a.yaml","version":"v4"}]`

// TestReapplyOfAnOlderStoredSpec (R2.4, R2.5): re-applying the v1beta4 manifest a stored
// object came from leaves the spec as stored, with or without a label added, so the stored
// spec's problems are warnings and the defaulter changes nothing; a change the CRD keeps
// is still validated, each entry named as written.
func TestReapplyOfAnOlderStoredSpec(t *testing.T) {
	ctx := context.Background()
	const label = `"oda.tmforum.org/componentName":"c"`
	for name, raw := range map[string]string{
		"unchanged":           reappliedBeta4(label, `"path":"/a/",`+beta4List),
		"a label added":       reappliedBeta4(label+`,"team":"x"`, `"path":"/a/",`+beta4List),
		"the path normalised": reappliedBeta4(label, `"path":"/a",`+beta4List),
		"another url":         reappliedBeta4(label, `"path":"/a/","specification":[{"url":"openapi.yaml"}]`),
	} {
		t.Run(name, func(t *testing.T) {
			resp := (&Validator{}).Handle(ctx, request(admissionv1.Update, "v1beta4", storedBeta4, raw))
			if !assert.True(t, resp.Allowed, "the spec stored after this write is the spec stored before it") {
				t.Log(resp.Result.Message)
			}
			assert.Contains(t, strings.Join(resp.Warnings, "\n"), "spec.implementation", "the stored spec's problems are warnings")
			resp = Defaulter{}.Handle(ctx, request(admissionv1.Update, "v1beta4", storedBeta4, raw))
			require.True(t, resp.Allowed)
			if name != "the path normalised" {
				assert.Empty(t, resp.Patches, "the spec is left as stored")
			}
		})
	}

	unlabelled := strings.Replace(storedBeta4, `{"oda.tmforum.org/componentName":"c"}`, `{}`, 1)
	resp := (&Validator{}).Handle(ctx, request(admissionv1.Update, "v1beta4", unlabelled, reappliedBeta4(`"team":"x"`, `"path":"/a/",`+beta4List)))
	assert.True(t, resp.Allowed, "a stored object missing the component label, re-applied as it was (a GitOps sync)")

	for name, c := range map[string]struct{ spec, want string }{
		"another path":   {`"path":"/b",` + beta4List, "spec.implementation"},
		"an entry added": {`"path":"/a/","specification":[{"url":"https://e.com/a.yaml"},{"url":"openapi.yaml"}]`, "spec.specification[1].url: Invalid value"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := (&Validator{}).Handle(ctx, request(admissionv1.Update, "v1beta4", storedBeta4, reappliedBeta4(label, c.spec)))
			require.False(t, resp.Allowed, "a change the canvas CRD stores is validated")
			assert.Contains(t, resp.Result.Message, c.want)
		})
	}
}
