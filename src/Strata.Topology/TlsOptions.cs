namespace Strata.Topology;

// vip.tls as written in strata.json (docs/tls.md).

/// <summary>HTTPS (and HTTP/2) on the VIP's address (HAProxy's <c>bind :443 ssl crt … alpn h2,http/1.1</c>).</summary>
public sealed record VipTlsOptions
{
    /// <summary>The TCP port of HTTPS on the VIP's address [443]; plain HTTP stays on the VIP's own port.</summary>
    public int? Port { get; init; }

    /// <summary>
    /// Certificate chains and their keys as PEM files, relative to the topology file; each is served to the names in its
    /// subject alternative names (exact or wildcard), the first also to clients that send no or another name.
    /// </summary>
    public IReadOnlyList<CertificateOptions>? Certificates { get; init; }

    /// <summary>
    /// Creates a local CA and a certificate for the zone's names and the VIP's address under .strata/tls the first time
    /// (as mkcert), and serves it when no certificate is listed [false].
    /// </summary>
    public bool? Generate { get; init; }

    /// <summary>Plain HTTP on the VIP answers 301 to the same URL over HTTPS, but /.well-known/acme-challenge/ [false].</summary>
    public bool? RedirectHttp { get; init; }

    /// <summary>Strict-Transport-Security on HTTPS answers [none]; never with a generated certificate.</summary>
    public HstsOptions? Hsts { get; init; }
}

/// <summary>One certificate chain and its private key.</summary>
public sealed record CertificateOptions
{
    /// <summary>PEM file of the certificate, then its intermediates (certbot's fullchain.pem).</summary>
    public string? Certificate { get; init; }

    /// <summary>PEM file of the private key (certbot's privkey.pem); RSA or ECDSA.</summary>
    public string? Key { get; init; }
}

/// <summary>HTTP Strict Transport Security (RFC 6797).</summary>
public sealed record HstsOptions
{
    /// <summary>Seconds browsers keep to HTTPS [31536000 = a year].</summary>
    public int? MaxAgeSeconds { get; init; }

    /// <summary>Subdomains too [false].</summary>
    public bool? IncludeSubDomains { get; init; }

    /// <summary>Asks to be on browsers' preload list [false]; needs a year and includeSubDomains.</summary>
    public bool? Preload { get; init; }
}
