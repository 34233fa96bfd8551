/* See include/hg_xml.h for why libxml2 is loaded with dlopen. */
#include "hg_xml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

static struct {
    int loaded;
    xmlDocPtr (*read_memory)(const char *, int, const char *, const char *, int);
    void (*free_doc)(xmlDocPtr);
    xmlNodePtr (*root)(const xmlDoc *);
    xmlChar *(*get_prop)(const xmlNode *, const xmlChar *);
    xmlChar *(*get_content)(const xmlNode *);
    xmlFreeFunc *free_fn; /* xmlFree is a variable holding a function pointer */
    const xmlError *(*last_error)(void);
} lib;

static const char *load(void) {
    if (lib.loaded) return NULL;
    void *h = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return dlerror();
    lib.read_memory = (xmlDocPtr (*)(const char *, int, const char *, const char *, int))dlsym(h, "xmlReadMemory");
    lib.free_doc = (void (*)(xmlDocPtr))dlsym(h, "xmlFreeDoc");
    lib.root = (xmlNodePtr (*)(const xmlDoc *))dlsym(h, "xmlDocGetRootElement");
    lib.get_prop = (xmlChar *(*)(const xmlNode *, const xmlChar *))dlsym(h, "xmlGetProp");
    lib.get_content = (xmlChar *(*)(const xmlNode *))dlsym(h, "xmlNodeGetContent");
    lib.free_fn = (xmlFreeFunc *)dlsym(h, "xmlFree");
    lib.last_error = (const xmlError *(*)(void))dlsym(h, "xmlGetLastError");
    if (!lib.read_memory || !lib.free_doc || !lib.root || !lib.get_prop || !lib.get_content ||
        !lib.free_fn || !lib.last_error)
        return "libxml2.so.2 lacks a function hugepage-guard needs";
    lib.loaded = 1;
    return NULL;
}

hg_xml_doc *hg_xml_parse(const char *buf, int len, int *error_line, char *errbuf, size_t errlen) {
    const char *why = load();
    if (why) {
        *error_line = -1;
        snprintf(errbuf, errlen, "%s", why);
        return NULL;
    }
    xmlDocPtr doc = lib.read_memory(buf, len, "domain.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = lib.last_error();
        *error_line = e ? e->line : 0;
        snprintf(errbuf, errlen, "%s", e && e->message ? e->message : "unknown parser error");
        return NULL;
    }
    return (hg_xml_doc *)doc;
}

void hg_xml_free_doc(hg_xml_doc *doc) { lib.free_doc((xmlDocPtr)doc); }

const hg_xml_node *hg_xml_root(const hg_xml_doc *doc) {
    return (const hg_xml_node *)lib.root((const xmlDoc *)doc);
}

static const hg_xml_node *element_from(xmlNodePtr n) {
    while (n && n->type != XML_ELEMENT_NODE) n = n->next;
    return (const hg_xml_node *)n;
}

const hg_xml_node *hg_xml_first_element(const hg_xml_node *node) {
    return element_from(((const xmlNode *)node)->children);
}

const hg_xml_node *hg_xml_next_element(const hg_xml_node *node) {
    return element_from(((const xmlNode *)node)->next);
}

const char *hg_xml_name(const hg_xml_node *node) { return (const char *)((const xmlNode *)node)->name; }

const char *hg_xml_namespace(const hg_xml_node *node) {
    const xmlNode *n = (const xmlNode *)node;
    return n->ns ? (const char *)n->ns->href : NULL;
}

char *hg_xml_attribute(const hg_xml_node *node, const char *name) {
    return (char *)lib.get_prop((const xmlNode *)node, (const xmlChar *)name);
}

char *hg_xml_content(const hg_xml_node *node) { return (char *)lib.get_content((const xmlNode *)node); }

void hg_xml_free(void *p) { if (p) (*lib.free_fn)(p); }
