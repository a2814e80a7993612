package temporalui

import (
	"net/url"
	"strings"
)

// WorkflowURL is the UI's page for a workflow, base being a Server's URL:
// {base}/namespaces/{namespace}/workflows/{workflowID}. The UI opens the
// latest run from there. Each segment is escaped as the UI escapes it
// (JavaScript's encodeURIComponent), so IDs such as deploy:prod-eu/web-7
// stay one segment.
func WorkflowURL(base, namespace, workflowID string) string {
	return strings.TrimRight(base, "/") + "/namespaces/" + pathSegment(namespace) + "/workflows/" + pathSegment(workflowID)
}

// pathSegment escapes every byte but letters, digits and -_.~ (a superset
// of what encodeURIComponent escapes, decoded identically).
func pathSegment(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
