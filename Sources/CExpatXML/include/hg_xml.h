#ifndef HUGEPAGE_GUARD_HG_XML_H
#define HUGEPAGE_GUARD_HG_XML_H
/*
 * Domain XML, read with expat into a small read-only tree.
 *
 * Why this exists: the hook runs as root inside libvirtd on every domain operation and
 * reads XML it did not write, so the parser must be small, start fast and refuse anything
 * a libvirt domain never contains. expat (Debian's libexpat1) has no ICU behind it, loads
 * no external entity unless asked, and reports names with their namespace URI. This file
 * is the only place that sees expat's API: hg_xml_parse runs expat over the whole document
 * once and copies what the Swift side reads (element names and namespaces, attributes,
 * text) into flat arrays, so Swift never holds an expat object and nothing is parsed lazily.
 *
 * Refused, with the line and what was wrong:
 *   - input larger than HG_XML_MAX_INPUT_BYTES (checked before expat sees a byte);
 *   - bytes that are not UTF-8 (overlong forms, surrogates and code points above U+10FFFF
 *     included), whatever the XML declaration says: the document is read as UTF-8;
 *   - a DOCTYPE declaration (libvirt never writes one in domain XML), hence any entity
 *     declaration, internal or external DTD subset;
 *   - a reference to any entity other than the five predefined ones (&lt; &gt; &amp;
 *     &apos; &quot;); character references (&#10; &#x41;) are expanded as XML requires;
 *   - anything expat finds not well-formed, trailing content after the root element
 *     included;
 *   - any of the limits below.
 * No external entity, DTD or XInclude is ever loaded: expat opens no file itself, the
 * external-entity handler refuses every external entity, parameter entities are never
 * parsed, and XInclude is not part of expat at all (an xi:include is an ordinary element).
 * Nothing is printed: every problem comes back in hg_xml_error.
 */
#include <stddef.h>
#include <stdint.h>

/* The limits, each far above any domain libvirt writes: a large domain is a few hundred
 * elements with a hundred-odd different names, and tens of KiB. Past one, the document is
 * refused with the limit named. They bound the work on any input of up to 16 MiB: expat's
 * cost per byte is highest in names, attribute values and namespace declarations, hence
 * limits on those; the per-tag limits are checked in one pass before expat starts. BENCHMARKS.md has
 * the measured worst cases. */
#define HG_XML_MAX_INPUT_BYTES 16777216u                      /* the whole document: 16 MiB */
#define HG_XML_MAX_ELEMENTS 200000u                           /* elements in the document */
#define HG_XML_MAX_ATTRIBUTES_PER_ELEMENT 256u                /* attributes (namespace declarations included) on one element */
#define HG_XML_MAX_ATTRIBUTES 250000u                         /* attributes in the document */
#define HG_XML_MAX_NAME_BYTES 1024u                           /* one element or attribute name, or a namespace URI */
#define HG_XML_MAX_DISTINCT_NAMES 4096u                       /* different names and namespace URIs */
#define HG_XML_MAX_NAMESPACE_DECLARATIONS 4096u               /* xmlns and xmlns:prefix attributes in the document */
#define HG_XML_MAX_NAME_BYTES_IN_TAGS (4u * 1024u * 1024u)    /* all names in all tags, end tags included */
#define HG_XML_MAX_DEPTH 256u                                 /* elements nested in each other (libvirt parses with libxml2, which stops at about the same depth) */
#define HG_XML_MAX_TEXT_BYTES (1024u * 1024u)                 /* text directly inside one element (CDATA included) */
#define HG_XML_MAX_ATTRIBUTE_VALUE_BYTES (1024u * 1024u)      /* one attribute value, as written */
#define HG_XML_MAX_VALUE_BYTES_IN_TAGS (4u * 1024u * 1024u)   /* all attribute values, as written */
/* expat's own allocations during one parse, a backstop behind the limits above: its copy
 * of the input (fed a MiB at a time, but one token is copied whole, in a buffer grown by
 * doubling) plus its working memory. */
#define HG_XML_MAX_PARSER_MEMORY (2u * HG_XML_MAX_INPUT_BYTES + 16u * 1024u * 1024u)

#define HG_XML_NONE 0xFFFFFFFFu

/* One element. Names, namespaces and attribute values are offsets of NUL-terminated UTF-8
 * strings in hg_xml_doc.strings; HG_XML_NONE where absent. */
typedef struct hg_xml_element {
    uint32_t name;            /* local name */
    uint32_t ns;              /* namespace URI, or HG_XML_NONE */
    uint32_t first_child;     /* element index, or HG_XML_NONE */
    uint32_t next_sibling;    /* element index, or HG_XML_NONE */
    uint32_t first_attribute; /* index in hg_xml_doc.attributes */
    uint32_t attribute_count;
    /* All text inside the element, its descendants' included, in document order (what
     * XPath's string() gives): bytes [text_start, text_end) of hg_xml_doc.text. */
    uint32_t text_start, text_end;
} hg_xml_element;

typedef struct hg_xml_attribute {
    uint32_t name;         /* local name */
    uint32_t ns;           /* namespace URI of a prefixed attribute, or HG_XML_NONE */
    uint32_t value;        /* attribute-value-normalised, as XML requires */
    uint32_t value_length; /* bytes, without the NUL */
} hg_xml_attribute;

typedef struct hg_xml_doc {
    const hg_xml_element *elements; /* document order: elements[0] is the root */
    uint32_t element_count;
    const hg_xml_attribute *attributes;
    uint32_t attribute_count;
    const char *strings;
    const char *text; /* every text node, in document order (not NUL-terminated); NULL if none */
} hg_xml_doc;

typedef enum hg_xml_status {
    HG_XML_OK = 0,
    HG_XML_MALFORMED, /* not well-formed XML or not UTF-8 */
    HG_XML_FORBIDDEN, /* well-formed, but a construct libvirt never writes: DOCTYPE, entities */
    HG_XML_LIMIT,     /* past one of the limits above */
    HG_XML_TOO_LARGE, /* larger than HG_XML_MAX_INPUT_BYTES */
    HG_XML_NO_MEMORY, /* the machine's memory, not a limit */
} hg_xml_status;

typedef struct hg_xml_error {
    hg_xml_status status;
    unsigned long line; /* 1-based; 0 when the problem has no place (size, memory) */
    char message[200];  /* what was wrong; never quotes the document */
} hg_xml_error;

/* Parses len bytes at buf. Returns the tree, or NULL with *error filled in. */
hg_xml_doc *hg_xml_parse(const char *buf, size_t len, hg_xml_error *error);
void hg_xml_free(hg_xml_doc *doc);
#endif
