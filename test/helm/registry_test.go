package helm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestCanvasRegistryTakesTheImage: the canvas's global.image.registry, where a canvas's
// images are mirrored for a cluster that cannot pull from the public registries, is where
// the operator's image is pulled from too: in place of the repository's own registry, as
// the canvas's charts put it before their Docker Hub paths.
func TestCanvasRegistryTakesTheImage(t *testing.T) {
	tag, ok := strings.CutPrefix(operatorImage(t, render(t)), "ghcr.io/oda-canvas/api-operator-istio:")
	require.True(t, ok, "the default image")
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"global.image.registry=myreg.io/"}, "myreg.io/oda-canvas/api-operator-istio:" + tag},
		{[]string{"global.image.registry=myreg.io:5000/mirror", "image.repository=localhost/team/op", "image.tag=v2"}, "myreg.io:5000/mirror/team/op:v2"},
		{[]string{"global.image.registry=myreg.io", "image.repository=tmforumodacanvas/api-operator-istio"}, "myreg.io/tmforumodacanvas/api-operator-istio:" + tag},
	} {
		assert.Equal(t, c.want, operatorImage(t, render(t, c.sets...)), "%v", c.sets)
	}

	values := filepath.Join(testdata(t), "canvas-oda-values.yaml")
	got := renderDir(t, umbrellaChart(t), "-f", values, "--set", "global.image.registry=myreg.io/")
	assert.Equal(t, "myreg.io/oda-canvas/api-operator-istio:"+tag, operatorImage(t, got), "as the canvas's dependency")
}

// operatorImage is the image of the one Deployment's first container.
func operatorImage(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var images []string
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			require.NotEmpty(t, cs)
			images = append(images, cs[0].(map[string]any)["image"].(string))
		}
	}
	require.Len(t, images, 1, "one Deployment")
	return images[0]
}
