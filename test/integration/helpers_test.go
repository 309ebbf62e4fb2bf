package integration

import (
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

type networkingv1VirtualService = networkingv1.VirtualService

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

type discoveryEndpointSlice = discoveryv1.EndpointSlice

type networkingv1VirtualServiceList = networkingv1.VirtualServiceList
