# Varnish in front of several AgriMap server processes (issue 18; docs/scaling.md).
# agrimap/topology.py fills in the backends; ./run.sh cluster and tests/cluster/ use it.
#
# The rule: a response we send with an ETag and "Cache-Control: no-cache" (tiles: the ETag is
# a hash of the content) is stored but stale at once, so every request is revalidated with
# the backend by If-None-Match. The backend answers 304 from its own tile cache (no body sent
# again) unless a write changed the tile, in which case the new tile comes back: a write is
# seen through this cache on the next request. Anything personal (a session cookie, an API
# token, a write) passes straight through, and nothing else is stored.
vcl 4.1;

import directors;

# BACKENDS

sub vcl_init {
    new servers = directors.round_robin();
# ADD_BACKENDS
}

sub vcl_recv {
    set req.backend_hint = servers.backend();
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization || req.http.Cookie ~ "agrimap_session=") {
        return (pass);
    }
    # Other cookies (the language switch) do not change a tile; pages read them, and a page
    # is never stored (no ETag), so they keep them.
    if (req.url ~ "^/(collections/[A-Za-z0-9_-]+/)?tiles/WebMercatorQuad/[0-9]+/[0-9]+/[0-9]+$") {
        unset req.http.Cookie;
    }
    return (hash);
}

sub vcl_backend_response {
    set beresp.http.X-Backend = beresp.backend.name;
    set beresp.http.X-Front-Fetch = beresp.status;  # 304: revalidated, body from here
    if (beresp.was_304) {
        set beresp.http.X-Front-Fetch = "304";
    }
    if (beresp.status == 200 && beresp.http.ETag && beresp.http.Cache-Control ~ "no-cache"
        && !beresp.http.Set-Cookie && beresp.http.Cache-Control !~ "(private|no-store)") {
        # Fresh for a microsecond, then kept an hour for If-None-Match: every later request
        # finds it expired and asks the backend with its ETag. (Not 0s: lookups skip objects
        # whose ttl is not positive, and a req.ttl cut does not make a stale object.)
        set beresp.ttl = 0.001ms;
        set beresp.grace = 0s; # never delivered stale while the backend is asked
        set beresp.keep = 1h;
        return (deliver);
    }
    set beresp.uncacheable = true;  # a page, a private answer, an error: not stored
    set beresp.ttl = 0s;
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}
