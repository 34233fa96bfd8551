#ifndef HUGEPAGE_GUARD_HG_XML_H
#define HUGEPAGE_GUARD_HG_XML_H
/*
 * A read-only view of an XML document through libxml2, loaded on first use.
 *
 * The hook runs on every domain operation and most of them pass straight through.
 * Linking libxml2 (and the ICU libraries behind it) costs about 1 ms at every exec
 * (measured: an empty Swift program 1.6 ms, the same linked with -lxml2 2.5 ms), so
 * libxml2 is dlopen'd the first time a document is parsed, and its types stay in
 * hg_xml.c: Swift sees only opaque handles.
 */
#include <stddef.h>

typedef struct hg_xml_doc hg_xml_doc;
typedef struct hg_xml_node hg_xml_node;

/* Parses buf (no network, no DTD). On failure returns NULL, sets *error_line (-1 when
 * libxml2 could not be loaded) and writes a message into errbuf. */
hg_xml_doc *hg_xml_parse(const char *buf, int len, int *error_line, char *errbuf, size_t errlen);
void hg_xml_free_doc(hg_xml_doc *doc);

const hg_xml_node *hg_xml_root(const hg_xml_doc *doc);
/* Element children only, in document order. */
const hg_xml_node *hg_xml_first_element(const hg_xml_node *node);
const hg_xml_node *hg_xml_next_element(const hg_xml_node *node);
const char *hg_xml_name(const hg_xml_node *node);
/* The element's namespace URI, or NULL. */
const char *hg_xml_namespace(const hg_xml_node *node);
/* Newly allocated; release with hg_xml_free. NULL when absent. */
char *hg_xml_attribute(const hg_xml_node *node, const char *name);
char *hg_xml_content(const hg_xml_node *node);
void hg_xml_free(void *p);
#endif
