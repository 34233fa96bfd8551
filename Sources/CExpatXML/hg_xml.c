/* Domain XML through expat into a flat tree. See include/hg_xml.h for what is refused and why. */
#define _GNU_SOURCE /* memmem */
#include "hg_xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expat splits "namespace-URI SEP local-name" with this byte. U+0001 can't appear in XML 1.0
 * at all, not even as &#1;, so it never occurs in a URI or a name. */
#define NS_SEP '\x01'

/* --- expat's memory, counted. The memory suite has no user pointer, and one parse runs
 * start to end on one thread, so the count is per thread. --- */

static _Thread_local size_t parser_bytes;
static _Thread_local int parser_over_budget;

typedef union { size_t size; max_align_t align; } block_header;

static void *counted_malloc(size_t size) {
    if (size > HG_XML_MAX_PARSER_MEMORY - parser_bytes || size > SIZE_MAX - sizeof(block_header)) {
        parser_over_budget = 1;
        return NULL;
    }
    block_header *h = malloc(sizeof *h + size);
    if (!h) return NULL;
    h->size = size;
    parser_bytes += size;
    return h + 1;
}

static void counted_free(void *p) {
    if (!p) return;
    block_header *h = (block_header *)p - 1;
    parser_bytes -= h->size;
    free(h);
}

static void *counted_realloc(void *p, size_t size) {
    if (!p) return counted_malloc(size);
    block_header *h = (block_header *)p - 1;
    size_t old = h->size;
    if ((size > old && size - old > HG_XML_MAX_PARSER_MEMORY - parser_bytes) ||
        size > SIZE_MAX - sizeof(block_header)) {
        parser_over_budget = 1;
        return NULL;
    }
    block_header *n = realloc(h, sizeof *n + size);
    if (!n) return NULL;
    n->size = size;
    parser_bytes = parser_bytes - old + size;
    return n + 1;
}

static const XML_Memory_Handling_Suite counted_memory = {counted_malloc, counted_realloc, counted_free};

/* --- Growable arrays. Every size is bounded by the limits; growth is still checked. --- */

typedef struct {
    char *data;
    size_t len, cap;
} bytes;

static int reserve(void **data, size_t *cap, size_t need, size_t item) {
    if (need <= *cap) return 1;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2) return 0;
        cap2 *= 2;
    }
    if (cap2 > SIZE_MAX / item) return 0;
    void *p = realloc(*data, cap2 * item);
    if (!p) return 0;
    *data = p;
    *cap = cap2;
    return 1;
}

static int append(bytes *b, const char *s, size_t n) {
    if (n > SIZE_MAX - b->len || !reserve((void **)&b->data, &b->cap, b->len + n, 1)) return 0;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 1;
}

/* --- The parse. --- */

typedef struct {
    uint32_t element;    /* its index */
    uint32_t last_child; /* so a new child is linked in O(1) */
    size_t own_text;     /* bytes of text directly inside it so far */
} open_element;

typedef struct {
    XML_Parser parser;
    hg_xml_error *error;
    int failed;

    hg_xml_element *elements;
    size_t element_count, element_cap;
    hg_xml_attribute *attributes;
    size_t attribute_count, attribute_cap;
    bytes strings, text;

    /* Names and namespace URIs are interned: offsets into strings, open addressing. */
    uint32_t *names;
    size_t names_cap, names_used;

    size_t namespace_declarations;
    open_element open[HG_XML_MAX_DEPTH];
    unsigned depth;
} parse;

static void fail_at(parse *p, hg_xml_status status, unsigned long line, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    p->error->status = status;
    p->error->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error->message, sizeof p->error->message, fmt, ap);
    va_end(ap);
    if (p->parser) XML_StopParser(p->parser, XML_FALSE);
}

#define FAIL(p, status, ...) fail_at((p), (status), (unsigned long)XML_GetCurrentLineNumber((p)->parser), __VA_ARGS__)

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

/* The offset of the string s[0..n) in p->strings, added once. HG_XML_NONE when out of memory
 * or past HG_XML_MAX_DISTINCT_NAMES (names_used says which). */
static uint32_t intern(parse *p, const char *s, size_t n) {
    if ((p->names_used + 1) * 2 > p->names_cap) {
        size_t cap = p->names_cap ? p->names_cap * 2 : 256;
        uint32_t *t = malloc(cap * sizeof *t);
        if (!t) return HG_XML_NONE;
        for (size_t i = 0; i < cap; i++) t[i] = HG_XML_NONE;
        for (size_t i = 0; i < p->names_cap; i++) {
            uint32_t off = p->names[i];
            if (off == HG_XML_NONE) continue;
            const char *k = p->strings.data + off;
            size_t j = hash(k, strlen(k)) & (cap - 1);
            while (t[j] != HG_XML_NONE) j = (j + 1) & (cap - 1);
            t[j] = off;
        }
        free(p->names);
        p->names = t;
        p->names_cap = cap;
    }
    size_t j = hash(s, n) & (p->names_cap - 1);
    for (; p->names[j] != HG_XML_NONE; j = (j + 1) & (p->names_cap - 1)) {
        const char *k = p->strings.data + p->names[j];
        if (strncmp(k, s, n) == 0 && k[n] == '\0') return p->names[j];
    }
    if (p->names_used >= HG_XML_MAX_DISTINCT_NAMES) return HG_XML_NONE;
    uint32_t off = (uint32_t)p->strings.len;
    if (!append(&p->strings, s, n) || !append(&p->strings, "", 1)) return HG_XML_NONE;
    p->names[j] = off;
    p->names_used++;
    return off;
}

/* Splits expat's "URI SEP local" (or plain "local") into interned offsets. 0 on failure,
 * which it has reported. */
static int split_name(parse *p, const char *expanded, uint32_t *name, uint32_t *ns, const char *what) {
    const char *sep = strrchr(expanded, NS_SEP);
    const char *local = sep ? sep + 1 : expanded;
    size_t local_len = strlen(local), uri_len = sep ? (size_t)(sep - expanded) : 0;
    if (local_len > HG_XML_MAX_NAME_BYTES || uri_len > HG_XML_MAX_NAME_BYTES) {
        FAIL(p, HG_XML_LIMIT, "%s name or namespace URI longer than %u bytes", what, HG_XML_MAX_NAME_BYTES);
        return 0;
    }
    *name = intern(p, local, local_len);
    *ns = sep ? intern(p, expanded, uri_len) : HG_XML_NONE;
    if (*name == HG_XML_NONE || (sep && *ns == HG_XML_NONE)) {
        if (p->names_used >= HG_XML_MAX_DISTINCT_NAMES)
            FAIL(p, HG_XML_LIMIT, "more than %u different element and attribute names and namespaces",
                 HG_XML_MAX_DISTINCT_NAMES);
        else
            FAIL(p, HG_XML_NO_MEMORY, "out of memory");
        return 0;
    }
    return 1;
}

static void XMLCALL on_start(void *data, const XML_Char *expanded, const XML_Char **atts) {
    parse *p = data;
    if (p->failed) return;
    if (p->depth >= HG_XML_MAX_DEPTH) {
        FAIL(p, HG_XML_LIMIT, "elements nested more than %u deep", HG_XML_MAX_DEPTH);
        return;
    }
    if (p->element_count >= HG_XML_MAX_ELEMENTS) {
        FAIL(p, HG_XML_LIMIT, "more than %u elements", HG_XML_MAX_ELEMENTS);
        return;
    }
    size_t n = 0;
    while (atts[2 * n]) n++;
    if (n > HG_XML_MAX_ATTRIBUTES_PER_ELEMENT) {
        FAIL(p, HG_XML_LIMIT, "an element with more than %u attributes", HG_XML_MAX_ATTRIBUTES_PER_ELEMENT);
        return;
    }
    if (n > HG_XML_MAX_ATTRIBUTES - p->attribute_count) {
        FAIL(p, HG_XML_LIMIT, "more than %u attributes in the document", HG_XML_MAX_ATTRIBUTES);
        return;
    }
    if (!reserve((void **)&p->elements, &p->element_cap, p->element_count + 1, sizeof *p->elements) ||
        !reserve((void **)&p->attributes, &p->attribute_cap, p->attribute_count + n, sizeof *p->attributes)) {
        FAIL(p, HG_XML_NO_MEMORY, "out of memory");
        return;
    }
    hg_xml_element e = {
        .first_child = HG_XML_NONE,
        .next_sibling = HG_XML_NONE,
        .first_attribute = (uint32_t)p->attribute_count,
        .attribute_count = (uint32_t)n,
        .text_start = (uint32_t)p->text.len,
        .text_end = (uint32_t)p->text.len,
    };
    if (!split_name(p, expanded, &e.name, &e.ns, "an element")) return;
    for (size_t i = 0; i < n; i++) {
        hg_xml_attribute a;
        if (!split_name(p, atts[2 * i], &a.name, &a.ns, "an attribute")) return;
        size_t len = strlen(atts[2 * i + 1]);
        a.value = (uint32_t)p->strings.len;
        a.value_length = (uint32_t)len;
        if (!append(&p->strings, atts[2 * i + 1], len + 1)) {
            FAIL(p, HG_XML_NO_MEMORY, "out of memory");
            return;
        }
        p->attributes[p->attribute_count++] = a;
    }
    uint32_t index = (uint32_t)p->element_count++;
    p->elements[index] = e;
    if (p->depth > 0) {
        open_element *parent = &p->open[p->depth - 1];
        if (parent->last_child == HG_XML_NONE)
            p->elements[parent->element].first_child = index;
        else
            p->elements[parent->last_child].next_sibling = index;
        parent->last_child = index;
    }
    p->open[p->depth++] = (open_element){.element = index, .last_child = HG_XML_NONE, .own_text = 0};
}

static void XMLCALL on_end(void *data, const XML_Char *name) {
    (void)name;
    parse *p = data;
    if (p->failed || p->depth == 0) return;
    open_element *e = &p->open[--p->depth];
    p->elements[e->element].text_end = (uint32_t)p->text.len;
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len) {
    parse *p = data;
    if (p->failed || p->depth == 0 || len <= 0) return;
    open_element *e = &p->open[p->depth - 1];
    if ((size_t)len > HG_XML_MAX_TEXT_BYTES - e->own_text) {
        FAIL(p, HG_XML_LIMIT, "more than %u bytes of text in one element", HG_XML_MAX_TEXT_BYTES);
        return;
    }
    e->own_text += (size_t)len;
    if (!append(&p->text, s, (size_t)len)) FAIL(p, HG_XML_NO_MEMORY, "out of memory");
}

static void XMLCALL on_namespace(void *data, const XML_Char *prefix, const XML_Char *uri) {
    (void)prefix;
    parse *p = data;
    if (++p->namespace_declarations > HG_XML_MAX_NAMESPACE_DECLARATIONS)
        FAIL(p, HG_XML_LIMIT, "more than %u namespace declarations", HG_XML_MAX_NAMESPACE_DECLARATIONS);
    else if (uri && strlen(uri) > HG_XML_MAX_NAME_BYTES)
        FAIL(p, HG_XML_LIMIT, "a namespace URI longer than %u bytes", HG_XML_MAX_NAME_BYTES);
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset) {
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    FAIL((parse *)data, HG_XML_FORBIDDEN, "a DOCTYPE declaration, which libvirt never writes in domain XML");
}

static void XMLCALL on_entity_decl(void *data, const XML_Char *name, int is_parameter, const XML_Char *value,
                                   int value_length, const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid, const XML_Char *notation) {
    (void)name, (void)is_parameter, (void)value, (void)value_length, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    FAIL((parse *)data, HG_XML_FORBIDDEN, "an entity declaration, which libvirt never writes in domain XML");
}

static void XMLCALL on_skipped_entity(void *data, const XML_Char *name, int is_parameter) {
    (void)name, (void)is_parameter;
    FAIL((parse *)data, HG_XML_FORBIDDEN, "a reference to an undeclared entity");
}

static int XMLCALL on_external_entity(XML_Parser parser, const XML_Char *context, const XML_Char *base,
                                      const XML_Char *sysid, const XML_Char *pubid) {
    (void)parser, (void)context, (void)base, (void)sysid, (void)pubid;
    return XML_STATUS_ERROR; /* never loaded: expat reports XML_ERROR_EXTERNAL_ENTITY_HANDLING */
}

/* The first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) {
            i += 8;
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else return i;
        if (len - i <= need) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += need + 1;
    }
    return len;
}

static unsigned long line_of(const char *buf, size_t offset) {
    unsigned long line = 1;
    for (const char *q = buf; (q = memchr(q, '\n', (size_t)(buf + offset - q))) != NULL; q++) line++;
    return line;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Where the input is split between calls to XML_Parse, and the most splits: feeding expat
 * a piece at a time keeps its copy of the input to about FEED_BYTES instead of the whole
 * document. Splits fall only between markup, never inside a tag, comment, PI or CDATA
 * section: expat 2.5 rescans a token cut in two from its start at every call. */
#define FEED_BYTES (1024u * 1024u)
#define MAX_CUTS (HG_XML_MAX_INPUT_BYTES / FEED_BYTES + 1)

/* Before expat: one linear pass over the tags that enforces the per-tag limits (attributes
 * per element, name and attribute value lengths), so a tag past them is refused before
 * expat spends time on it (expat builds a start tag's attributes in full before any
 * callback sees them). It skips comments, CDATA sections and processing instructions, and
 * stops at the first thing a well-formed document can't have there, or at a DOCTYPE:
 * expat refuses those where they stand, and nothing after them is parsed. Returns the
 * offset of a tag past a limit, or len, with *what saying which limit; fills cuts with
 * where to split the input for expat. */
static size_t prescan(const char *s, size_t len, const char **what, size_t *cuts, size_t *ncuts) {
    const char *end = s + len, *q = s;
    size_t name_bytes = 0, value_bytes = 0, last_cut = 0;
    *ncuts = 0;
/* After a complete tag, comment, PI or CDATA section ending just before p: a place to split
 * the input for expat if the last split is FEED_BYTES back. */
#define CUT(p)                                                                  \
    do {                                                                        \
        size_t at_ = (size_t)((p) - s);                                         \
        if (at_ - last_cut >= FEED_BYTES && *ncuts < MAX_CUTS) cuts[(*ncuts)++] = last_cut = at_; \
    } while (0)
    while ((q = memchr(q, '<', (size_t)(end - q))) != NULL) {
        const char *tag = q++;
        size_t rest = (size_t)(end - q);
        const char *close;
        if (rest >= 3 && memcmp(q, "!--", 3) == 0) close = "-->";
        else if (rest >= 8 && memcmp(q, "![CDATA[", 8) == 0) close = "]]>";
        else if (rest >= 1 && *q == '?') close = "?>";
        else if (rest >= 1 && *q == '!') return len; /* DOCTYPE, or not well-formed */
        else close = NULL;
        if (close) {
            q = memmem(q, rest, close, strlen(close));
            if (!q) return len;
            CUT(q + strlen(close));
            continue;
        }
        if (q < end && *q == '/') q++;
        const char *name = q;
        while (q < end && !is_space(*q) && *q != '>' && *q != '/') q++;
        if ((size_t)(q - name) > HG_XML_MAX_NAME_BYTES) { *what = "name"; return (size_t)(tag - s); }
        name_bytes += (size_t)(q - name);
        if (name_bytes > HG_XML_MAX_NAME_BYTES_IN_TAGS) { *what = "names"; return (size_t)(tag - s); }
        if (name > s && name[-1] == '/') { /* an end tag */
            q = memchr(q, '>', (size_t)(end - q));
            if (!q) return len;
            CUT(q + 1);
            continue;
        }
        for (size_t count = 0;; count++) {
            while (q < end && is_space(*q)) q++;
            if (q == end) return len;
            if (*q == '>' || *q == '/') break;
            if (count == HG_XML_MAX_ATTRIBUTES_PER_ELEMENT) { *what = "attributes"; return (size_t)(tag - s); }
            const char *attr = q;
            while (q < end && !is_space(*q) && *q != '=' && *q != '>' && *q != '/') q++;
            if ((size_t)(q - attr) > HG_XML_MAX_NAME_BYTES) { *what = "name"; return (size_t)(tag - s); }
            name_bytes += (size_t)(q - attr);
            if (name_bytes > HG_XML_MAX_NAME_BYTES_IN_TAGS) { *what = "names"; return (size_t)(tag - s); }
            while (q < end && is_space(*q)) q++;
            if (q == end || *q != '=') return len;
            q++;
            while (q < end && is_space(*q)) q++;
            if (q == end || (*q != '"' && *q != '\'')) return len;
            const char *value = ++q;
            q = memchr(q, value[-1], (size_t)(end - q));
            if (!q) return len;
            if ((size_t)(q - value) > HG_XML_MAX_ATTRIBUTE_VALUE_BYTES) { *what = "value"; return (size_t)(tag - s); }
            value_bytes += (size_t)(q - value);
            if (value_bytes > HG_XML_MAX_VALUE_BYTES_IN_TAGS) { *what = "values"; return (size_t)(tag - s); }
            q++;
        }
        if (*q == '/' && q + 1 < end && q[1] == '>') q++;
        if (*q == '>') CUT(q + 1);
    }
    return len;
#undef CUT
}

static void free_parse(parse *p) {
    free(p->elements);
    free(p->attributes);
    free(p->strings.data);
    free(p->text.data);
    free(p->names);
}

hg_xml_doc *hg_xml_parse(const char *buf, size_t len, hg_xml_error *error) {
    memset(error, 0, sizeof *error);
    parse p = {.error = error};
    if (len == 0 || !buf) {
        fail_at(&p, HG_XML_MALFORMED, 0, "the document is empty");
        return NULL;
    }
    if (len > HG_XML_MAX_INPUT_BYTES) {
        fail_at(&p, HG_XML_TOO_LARGE, 0, "%zu bytes, more than the %u MiB limit", len,
                HG_XML_MAX_INPUT_BYTES / (1024u * 1024u));
        return NULL;
    }
    size_t bad = utf8_invalid_at((const unsigned char *)buf, len);
    if (bad < len) {
        fail_at(&p, HG_XML_MALFORMED, line_of(buf, bad), "byte 0x%02X is not valid UTF-8",
                (unsigned)(unsigned char)buf[bad]);
        return NULL;
    }
    const char *what = "";
    size_t cuts[MAX_CUTS], ncuts = 0;
    size_t over = prescan(buf, len, &what, cuts, &ncuts);
    if (over < len) {
        unsigned long line = line_of(buf, over);
        if (strcmp(what, "attributes") == 0)
            fail_at(&p, HG_XML_LIMIT, line, "an element with more than %u attributes", HG_XML_MAX_ATTRIBUTES_PER_ELEMENT);
        else if (strcmp(what, "names") == 0)
            fail_at(&p, HG_XML_LIMIT, line, "more than %u MiB of element and attribute names in tags",
                    HG_XML_MAX_NAME_BYTES_IN_TAGS / (1024u * 1024u));
        else if (strcmp(what, "values") == 0)
            fail_at(&p, HG_XML_LIMIT, line, "more than %u MiB of attribute values in tags",
                    HG_XML_MAX_VALUE_BYTES_IN_TAGS / (1024u * 1024u));
        else if (strcmp(what, "value") == 0)
            fail_at(&p, HG_XML_LIMIT, line, "an attribute value longer than %u bytes", HG_XML_MAX_ATTRIBUTE_VALUE_BYTES);
        else
            fail_at(&p, HG_XML_LIMIT, line, "an element or attribute name longer than %u bytes", HG_XML_MAX_NAME_BYTES);
        return NULL;
    }

    parser_bytes = 0;
    parser_over_budget = 0;
    /* "UTF-8" overrides any encoding the document declares: libvirt writes UTF-8 only. */
    p.parser = XML_ParserCreate_MM("UTF-8", &counted_memory, (XML_Char[]){NS_SEP, '\0'});
    if (!p.parser) {
        fail_at(&p, HG_XML_NO_MEMORY, 0, "out of memory creating the XML parser");
        return NULL;
    }
    XML_SetUserData(p.parser, &p);
    XML_SetElementHandler(p.parser, on_start, on_end);
    XML_SetCharacterDataHandler(p.parser, on_text);
    XML_SetStartNamespaceDeclHandler(p.parser, on_namespace);
    XML_SetStartDoctypeDeclHandler(p.parser, on_doctype);
    XML_SetEntityDeclHandler(p.parser, on_entity_decl);
    XML_SetSkippedEntityHandler(p.parser, on_skipped_entity);
    XML_SetExternalEntityRefHandler(p.parser, on_external_entity);
    XML_SetParamEntityParsing(p.parser, XML_PARAM_ENTITY_PARSING_NEVER);

    enum XML_Status status = XML_STATUS_OK;
    size_t from = 0;
    for (size_t i = 0; i <= ncuts && status == XML_STATUS_OK; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        status = XML_Parse(p.parser, buf + from, (int)(to - from), i == ncuts);
        from = to;
    }
    if (status != XML_STATUS_OK && !p.failed) {
        enum XML_Error code = XML_GetErrorCode(p.parser);
        unsigned long line = (unsigned long)XML_GetCurrentLineNumber(p.parser);
        if (parser_over_budget)
            fail_at(&p, HG_XML_LIMIT, line, "the parser needed more than %u MiB",
                    HG_XML_MAX_PARSER_MEMORY / (1024u * 1024u));
        else if (code == XML_ERROR_NO_MEMORY)
            fail_at(&p, HG_XML_NO_MEMORY, line, "out of memory");
        else if (code == XML_ERROR_UNDEFINED_ENTITY)
            fail_at(&p, HG_XML_FORBIDDEN, line,
                    "an entity reference other than &lt; &gt; &amp; &apos; &quot; or a character reference");
        else if (code == XML_ERROR_EXTERNAL_ENTITY_HANDLING)
            fail_at(&p, HG_XML_FORBIDDEN, line, "an external entity, which is never loaded");
        else
            fail_at(&p, HG_XML_MALFORMED, line, "%s", XML_ErrorString(code));
    }
    XML_ParserFree(p.parser);
    p.parser = NULL;
    if (!p.failed && p.element_count == 0) fail_at(&p, HG_XML_MALFORMED, 1, "no root element");
    hg_xml_doc *doc = p.failed ? NULL : malloc(sizeof *doc);
    if (!doc) {
        if (!p.failed) fail_at(&p, HG_XML_NO_MEMORY, 0, "out of memory");
        free_parse(&p);
        return NULL;
    }
    free(p.names);
    *doc = (hg_xml_doc){
        .elements = p.elements,
        .element_count = (uint32_t)p.element_count,
        .attributes = p.attributes,
        .attribute_count = (uint32_t)p.attribute_count,
        .strings = p.strings.data,
        .text = p.text.data,
    };
    return doc;
}

void hg_xml_free(hg_xml_doc *doc) {
    if (!doc) return;
    free((void *)doc->elements);
    free((void *)doc->attributes);
    free((void *)doc->strings);
    free((void *)doc->text);
    free(doc);
}
