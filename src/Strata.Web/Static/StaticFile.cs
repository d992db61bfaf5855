using Microsoft.Net.Http.Headers;

namespace Strata.Web.Static;

/// <summary>One stored form of a file: the file itself or a precompressed <c>.br</c>/<c>.gz</c> sibling.</summary>
internal sealed class Representation
{
    /// <summary>Canonical path on disk (symlinks resolved).</summary>
    public required string PhysicalPath { get; init; }

    /// <summary>Length in bytes, as of <see cref="LastWriteUtc"/>.</summary>
    public required long Length { get; init; }

    /// <summary>Full-precision modification time, compared to the disk to detect changes.</summary>
    public required DateTime LastWriteUtc { get; init; }

    /// <summary>Strong validator, quoted; differs per coding.</summary>
    public required EntityTagHeaderValue ETag { get; init; }

    /// <summary>The bytes when the hot-file cache holds them, else null (streamed from disk).</summary>
    public byte[]? Content { get; init; }

    /// <summary>Whether the disk still has this length and modification time.</summary>
    public bool IsCurrent()
    {
        var info = new FileInfo(PhysicalPath);
        return info.Exists && info.Length == Length && info.LastWriteTimeUtc == LastWriteUtc;
    }
}

/// <summary>A resolved file with the response metadata built once: what the hot path needs besides the bytes.</summary>
internal sealed class StaticFile
{
    /// <summary>The request path of the file (an index file's own path for a directory), the cache key.</summary>
    public required string Key { get; init; }

    /// <summary>The file itself.</summary>
    public required Representation Identity { get; init; }

    /// <summary>A usable <c>file.br</c> beside it, or null.</summary>
    public Representation? BrotliSibling { get; init; }

    /// <summary>A usable <c>file.gz</c> beside it, or null.</summary>
    public Representation? GzipSibling { get; init; }

    /// <summary>Last-Modified, truncated to whole seconds as HTTP dates are.</summary>
    public required DateTimeOffset LastModified { get; init; }

    /// <summary>Last-Modified as an HTTP date.</summary>
    public required string LastModifiedHeader { get; init; }

    /// <summary>Content-Type.</summary>
    public required string ContentType { get; init; }

    /// <summary>Whether on-the-fly compression applies to the type.</summary>
    public required bool Compressible { get; init; }

    /// <summary>Cache-Control.</summary>
    public required string CacheControl { get; init; }

    /// <summary>Whether the answer depends on Accept-Encoding (Vary).</summary>
    public bool Negotiable => Compressible || BrotliSibling is not null || GzipSibling is not null;

    /// <summary>Brotli bytes compressed on the fly, once.</summary>
    public byte[]? Brotli { get; set; }

    /// <summary>gzip bytes compressed on the fly, once.</summary>
    public byte[]? Gzip { get; set; }

    /// <summary>The ETag of an on-the-fly coding: the file's with "-br" or "-gz" inside the quotes.</summary>
    public EntityTagHeaderValue CodedETag(ContentCoding coding) => coding == ContentCoding.Brotli
        ? _brotliETag ??= Suffixed(ContentCoding.Brotli)
        : _gzipETag ??= Suffixed(ContentCoding.Gzip);

    /// <summary>The connection path's answer head for the identity (<see cref="ConnectionHead"/>), built on first use.</summary>
    internal ConnectionHead? Head;

    /// <summary>Bytes charged to the cache's budget for this entry.</summary>
    internal long Charged;

    /// <summary><see cref="Environment.TickCount64"/> of the last use, for eviction.</summary>
    internal long LastUse;

    /// <summary>The cache's <see cref="TimeProvider.GetTimestamp"/> when the disk last confirmed this entry.</summary>
    internal long CheckedAt;

    private EntityTagHeaderValue? _brotliETag;
    private EntityTagHeaderValue? _gzipETag;

    /// <summary>Whether every representation on disk is unchanged.</summary>
    public bool IsCurrent() => Identity.IsCurrent() && (BrotliSibling?.IsCurrent() ?? true) && (GzipSibling?.IsCurrent() ?? true);

    /// <summary>The strong ETag of a file of this length and modification time.</summary>
    public static EntityTagHeaderValue MakeETag(long length, DateTime lastWriteUtc, string? suffix = null) =>
        new($"\"{lastWriteUtc.Ticks:x}-{length:x}{(suffix is null ? "" : "-" + suffix)}\"");

    private EntityTagHeaderValue Suffixed(ContentCoding coding) =>
        MakeETag(Identity.Length, Identity.LastWriteUtc, Compression.Suffix(coding));
}
