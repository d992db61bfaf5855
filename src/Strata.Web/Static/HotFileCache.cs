using System.Collections.Concurrent;
using Microsoft.Net.Http.Headers;
using Strata.Topology;

namespace Strata.Web.Static;

/// <summary>What a request path maps to.</summary>
internal enum LookupKind
{
    /// <summary>A regular file (or a directory's index file).</summary>
    File,

    /// <summary>A directory with an index, asked for without the trailing slash: 301 to the slash form.</summary>
    Redirect,

    /// <summary>Nothing there, or a directory without index (never listed).</summary>
    NotFound,

    /// <summary>There but not servable: outside the root through a symlink, or hidden once links are resolved.</summary>
    Forbidden,
}

/// <summary>
/// Maps request paths to files under the web root and keeps hot ones in memory. Written by hand because ASP.NET's
/// StaticFileMiddleware stats and opens the file on every request, has no precompressed siblings and no
/// containment of symlinks. Entries (metadata, small files' bytes, on-the-fly compressed bytes) are bounded by
/// <see cref="WebSpec.MemoryCacheBytes"/>, evicted least recently used first and dropped on a FileSystemWatcher event.
/// A hit re-checks length and modification time with a stat at most every <see cref="WebSpec.RevalidateMs"/> (nginx's
/// <c>open_file_cache_valid</c>), so a change the watcher misses is served at most that long; 0 stats on every hit.
/// </summary>
internal sealed class HotFileCache : IDisposable
{
    /// <summary>What an entry costs besides its bytes (strings, headers, dictionary slot).</summary>
    private const long EntryOverhead = 512;

    /// <summary>Missing paths remembered at most (the export's <c>open_file_cache max=10000</c>); a full table is emptied.</summary>
    private const int MaxMissing = 10_000;

    private readonly string _root;
    private readonly string _realRoot;
    private readonly WebSpec _spec;
    private readonly ConcurrentDictionary<string, StaticFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StaticFile>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    // Paths found missing, with when (nginx's open_file_cache_errors): trusted as long as a hit is, emptied by any
    // watcher event. A forwarded request's path is not stat'ed again within that time.
    private readonly ConcurrentDictionary<string, long> _missing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _missingBySpan;
    private readonly Lock _gate = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly TimeProvider _time;
    private readonly TimeSpan _revalidate;
    private long _bytes;
    private int _compressions;
    private int _diskReads;

    /// <summary>Serves <paramref name="webRoot"/> (absolute) as configured by <paramref name="spec"/>.</summary>
    public HotFileCache(string webRoot, WebSpec spec)
        : this(webRoot, spec, TimeProvider.System, watch: true)
    {
    }

    /// <summary>As the public constructor, on <paramref name="time"/>'s clock; without a watcher when <paramref name="watch"/> is false (tests of the revalidation alone).</summary>
    internal HotFileCache(string webRoot, WebSpec spec, TimeProvider time, bool watch, int maxOpenFiles = OpenFiles.DefaultMax)
    {
        _bySpan = _files.GetAlternateLookup<ReadOnlySpan<char>>();
        _missingBySpan = _missing.GetAlternateLookup<ReadOnlySpan<char>>();
        OpenFiles = new OpenFiles(maxOpenFiles, cached: spec.MemoryCacheBytes > 0);
        _spec = spec;
        _time = time;
        _revalidate = TimeSpan.FromMilliseconds(spec.RevalidateMs);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(webRoot));
        _realRoot = SafePath.RealPath(_root) ?? _root;
        if (watch && spec.MemoryCacheBytes > 0 && Directory.Exists(_root))
        {
            _watcher = new FileSystemWatcher(_root)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, e) => Invalidate(e.FullPath);
            _watcher.Created += (_, e) => Invalidate(e.FullPath);
            _watcher.Deleted += (_, e) => Invalidate(e.FullPath);
            _watcher.Renamed += (_, e) =>
            {
                Invalidate(e.OldFullPath);
                Invalidate(e.FullPath);
            };
            _watcher.Error += (_, _) => Clear();
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>How many times bytes were compressed on the fly (for tests: a cached coding is not redone).</summary>
    internal int Compressions => Volatile.Read(ref _compressions);

    /// <summary>How many times a file was resolved and read from disk into an entry (for tests).</summary>
    internal int DiskReads => Volatile.Read(ref _diskReads);

    /// <summary>The descriptors kept open for sendfile, closed with their entries (nginx's <c>open_file_cache</c>).</summary>
    public OpenFiles OpenFiles { get; }

    /// <summary>Entries currently cached.</summary>
    internal int Count => _files.Count;

    /// <summary>Bytes currently charged to the budget.</summary>
    internal long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Finds the file for a validated request path (no dot segments, no hidden segments).</summary>
    public (LookupKind Kind, StaticFile? File) Find(string path)
    {
        var key = path.EndsWith('/') ? path + _spec.Index : path;
        if (_files.TryGetValue(key, out var cached))
        {
            if (IsCurrent(cached))
            {
                cached.LastUse = Environment.TickCount64;
                return (LookupKind.File, cached);
            }

            Remove(cached);
        }

        return IsKnownMissing(key) ? (LookupKind.NotFound, null) : Resolve(path, key);
    }

    /// <summary>
    /// Whether the validated path <paramref name="path"/> was found missing less than <see cref="WebSpec.RevalidateMs"/>
    /// ago, with no change under the root seen since (then it is not looked up again).
    /// </summary>
    public bool IsKnownMissing(ReadOnlySpan<char> path) =>
        _missingBySpan.TryGetValue(path, out var checkedAt) && _time.GetElapsedTime(checkedAt) < _revalidate;

    /// <summary>
    /// The cached file of a validated request path that names a file itself (no trailing slash), still current, or
    /// null: the connection path's lookup, without a string per request.
    /// </summary>
    public StaticFile? FindCached(ReadOnlySpan<char> path)
    {
        if (_bySpan.TryGetValue(path, out var cached) && IsCurrent(cached))
        {
            cached.LastUse = Environment.TickCount64;
            return cached;
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="file"/> may be served: checked against the disk when it was last checked
    /// <see cref="WebSpec.RevalidateMs"/> or longer ago, trusted (and kept current by the watcher) in between.
    /// </summary>
    private bool IsCurrent(StaticFile file)
    {
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(Volatile.Read(ref file.CheckedAt), now) < _revalidate)
        {
            return true;
        }

        if (!file.IsCurrent())
        {
            return false;
        }

        Volatile.Write(ref file.CheckedAt, now);
        return true;
    }

    /// <summary>
    /// The <paramref name="coding"/> of <paramref name="file"/>, compressed once and kept with the entry, or null
    /// when the file changed underneath (the caller serves the identity).
    /// </summary>
    public byte[]? GetCompressed(StaticFile file, ContentCoding coding)
    {
        var existing = coding == ContentCoding.Brotli ? file.Brotli : file.Gzip;
        if (existing is not null)
        {
            return existing;
        }

        var content = file.Identity.Content ?? File.ReadAllBytes(file.Identity.PhysicalPath);
        if (content.Length != file.Identity.Length)
        {
            return null;
        }

        var compressed = Compression.Compress(content, coding);
        Interlocked.Increment(ref _compressions);
        lock (_gate)
        {
            // Only an entry still in the cache keeps (and is charged for) the bytes.
            if (_files.TryGetValue(file.Key, out var current) && ReferenceEquals(current, file))
            {
                if (coding == ContentCoding.Brotli)
                {
                    file.Brotli = compressed;
                }
                else
                {
                    file.Gzip = compressed;
                }

                file.Charged += compressed.Length;
                _bytes += compressed.Length;
                EvictIfOverBudget();
            }
        }

        return compressed;
    }

    /// <summary>Drops the entries a change at <paramref name="fullPath"/> (a file, a sibling or a directory) may affect.</summary>
    public void Invalidate(string fullPath)
    {
        // A file created, or a folder renamed into place with files under it: every missing path may be there now.
        _missing.Clear();
        if (!SafePath.IsUnder(fullPath, _root) || fullPath.Length == _root.Length)
        {
            Clear();
            return;
        }

        var relative = fullPath[_root.Length..];
        var withoutSuffix = relative.EndsWith(".br", StringComparison.Ordinal) || relative.EndsWith(".gz", StringComparison.Ordinal)
            ? relative[..^3]
            : relative;
        var directory = relative + "/";
        foreach (var (key, file) in _files)
        {
            if (key == relative || key == withoutSuffix || key.StartsWith(directory, StringComparison.Ordinal))
            {
                Remove(file);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _watcher?.Dispose();
        OpenFiles.Dispose();
    }

    private (LookupKind, StaticFile?) Resolve(string path, string key)
    {
        // Taken before the lookup: the path counts as missing no later than the disk was looked at.
        var lookedUp = _time.GetTimestamp();
        var real = SafePath.RealPath(_root + key);
        if (real is null)
        {
            if (_revalidate > TimeSpan.Zero)
            {
                if (_missing.Count >= MaxMissing)
                {
                    _missing.Clear();
                }

                _missing[key] = lookedUp;
            }

            return (LookupKind.NotFound, null);
        }

        if (!IsAllowed(real))
        {
            return (LookupKind.Forbidden, null);
        }

        if (Directory.Exists(real))
        {
            return !path.EndsWith('/') && IsDirectoryWithIndex(real) ? (LookupKind.Redirect, null) : (LookupKind.NotFound, null);
        }

        Interlocked.Increment(ref _diskReads);
        // Taken before the stats: the entry counts as checked no later than the disk was looked at.
        var checkedAt = _time.GetTimestamp();
        var identity = Load(real, suffix: null);
        if (identity is null)
        {
            return (LookupKind.NotFound, null);
        }

        var (contentType, compressible) = ContentTypes.For(key);
        var lastModified = new DateTimeOffset(identity.LastWriteUtc.Ticks - identity.LastWriteUtc.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var file = new StaticFile
        {
            Key = key,
            Identity = identity,
            BrotliSibling = Sibling(real, identity, ContentCoding.Brotli),
            GzipSibling = Sibling(real, identity, ContentCoding.Gzip),
            LastModified = lastModified,
            LastModifiedHeader = HeaderUtilities.FormatDate(lastModified),
            ContentType = contentType,
            Compressible = compressible,
            CacheControl = CachePolicy.For(_spec, key),
            LastUse = Environment.TickCount64,
            CheckedAt = checkedAt,
        };
        Add(file);
        return (LookupKind.File, file);
    }

    private bool IsAllowed(string real)
    {
        if (!SafePath.IsUnder(real, _realRoot))
        {
            return _spec.FollowSymlinksOutOfRoot;
        }

        // A link inside the root may still lead into a hidden folder such as .git.
        return !SafePath.HasHiddenSegment(real.AsSpan(_realRoot.Length));
    }

    private bool IsDirectoryWithIndex(string directory)
    {
        var index = SafePath.RealPath(directory + "/" + _spec.Index);
        return index is not null && IsAllowed(index) && File.Exists(index);
    }

    private Representation? Sibling(string real, Representation identity, ContentCoding coding)
    {
        var sibling = SafePath.RealPath(real + "." + Compression.Suffix(coding));
        if (sibling is null || !IsAllowed(sibling))
        {
            return null;
        }

        // An older sibling is left over from a previous build of the file.
        var loaded = Load(sibling, Compression.Suffix(coding));
        return loaded is not null && loaded.LastWriteUtc >= identity.LastWriteUtc ? loaded : null;
    }

    /// <summary>Stats a regular file and, when small enough to keep, reads it; null when it is not a file.</summary>
    private Representation? Load(string real, string? suffix)
    {
        var info = new FileInfo(real);
        if (!info.Exists)
        {
            return null;
        }

        var length = info.Length;
        var lastWrite = info.LastWriteTimeUtc;
        byte[]? content = null;
        if (_spec.MemoryCacheBytes > 0 && length <= _spec.MemoryCacheMaxFileBytes)
        {
            content = File.ReadAllBytes(real);
            info.Refresh();
            // Written to while read: keep the metadata of the bytes on disk now, stream them instead.
            if (content.Length != length || info.Length != length || info.LastWriteTimeUtc != lastWrite)
            {
                content = null;
                length = info.Length;
                lastWrite = info.LastWriteTimeUtc;
            }
        }

        return new Representation
        {
            PhysicalPath = real,
            Length = length,
            LastWriteUtc = lastWrite,
            ETag = StaticFile.MakeETag(length, lastWrite, suffix),
            Content = content,
        };
    }

    private void Add(StaticFile file)
    {
        if (_spec.MemoryCacheBytes <= 0)
        {
            return;
        }

        file.Charged = EntryOverhead + (file.Identity.Content?.LongLength ?? 0)
            + (file.BrotliSibling?.Content?.LongLength ?? 0) + (file.GzipSibling?.Content?.LongLength ?? 0);
        lock (_gate)
        {
            if (_files.TryGetValue(file.Key, out var previous))
            {
                _bytes -= previous.Charged;
                OpenFiles.Drop(previous.Identity);
            }

            _files[file.Key] = file;
            _bytes += file.Charged;
            EvictIfOverBudget();
        }
    }

    /// <summary>Drops <paramref name="file"/>'s entry, e.g. when it vanished before it could be sent.</summary>
    public void Forget(StaticFile file) => Remove(file);

    private void Remove(StaticFile file)
    {
        lock (_gate)
        {
            if (_files.TryRemove(new KeyValuePair<string, StaticFile>(file.Key, file)))
            {
                _bytes -= file.Charged;
                OpenFiles.Drop(file.Identity);
            }
        }
    }

    private void Clear()
    {
        _missing.Clear();
        lock (_gate)
        {
            _files.Clear();
            _bytes = 0;
            OpenFiles.Clear();
        }
    }

    /// <summary>Evicts least recently used entries down to 90% of the budget, so a full cache does not sort on every add.</summary>
    private void EvictIfOverBudget()
    {
        if (_bytes <= _spec.MemoryCacheBytes)
        {
            return;
        }

        var entries = _files.Values.ToArray();
        Array.Sort(entries, static (a, b) => a.LastUse.CompareTo(b.LastUse));
        var target = _spec.MemoryCacheBytes - _spec.MemoryCacheBytes / 10;
        foreach (var entry in entries)
        {
            if (_bytes <= target)
            {
                break;
            }

            if (_files.TryRemove(new KeyValuePair<string, StaticFile>(entry.Key, entry)))
            {
                _bytes -= entry.Charged;
                OpenFiles.Drop(entry.Identity);
            }
        }
    }
}
