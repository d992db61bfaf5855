using System.Collections.Concurrent;

namespace Strata.Web.Static;

/// <summary>
/// Descriptors of the files the connection path sends with sendfile, kept open while their entry is in the
/// <see cref="HotFileCache"/> and bounded in number (nginx's <c>open_file_cache max=</c>): one <c>open</c> per file,
/// not per request. An entry dropped while a send still uses its descriptor is closed when that send ends.
/// </summary>
internal sealed class OpenFiles : IDisposable
{
    /// <summary>Descriptors kept open at most by default (nginx's export: <c>open_file_cache max=10000</c>; a process's limit is often 1024 here).</summary>
    public const int DefaultMax = 512;

    private readonly ConcurrentDictionary<Representation, OpenFile> _open = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();
    private readonly int _max;
    private readonly bool _cached;

    /// <param name="max">Descriptors kept at most.</param>
    /// <param name="cached">Whether to keep any (the hot-file cache is on); else each send opens and closes its own.</param>
    public OpenFiles(int max, bool cached)
    {
        _max = max;
        _cached = cached;
    }

    /// <summary>Descriptors kept open now (those of sends in flight after their entry went are not counted).</summary>
    public int Count => _open.Count;

    /// <summary>
    /// The open file of <paramref name="file"/>, to <see cref="OpenFile.Release"/> after the send; null when the file is
    /// gone or no longer has the length the entry says (the caller leaves the request to Kestrel's way in).
    /// </summary>
    public OpenFile? Acquire(Representation file)
    {
        if (_open.TryGetValue(file, out var open) && open.TryAddUser())
        {
            open.LastUse = Environment.TickCount64;
            return open;
        }

        FileStream stream;
        try
        {
            // Asynchronous: SendPacketsElement takes only such streams; unbuffered: nothing is read through it.
            stream = new FileStream(file.PhysicalPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (stream.Length != file.Length)
        {
            stream.Dispose();
            return null;
        }

        // One user for the caller, and one for the cache while it keeps the descriptor.
        open = new OpenFile(stream, _cached ? 2 : 1) { LastUse = Environment.TickCount64 };
        if (!_cached || !_open.TryAdd(file, open))
        {
            open.Uncache();
            return open;
        }

        if (_open.Count > _max)
        {
            EvictOldest();
        }

        return open;
    }

    /// <summary>Closes the descriptor of <paramref name="file"/>'s entry (the entry left the cache), once no send uses it.</summary>
    public void Drop(Representation file)
    {
        if (_open.TryRemove(file, out var open))
        {
            open.Release();
        }
    }

    /// <summary>Closes every descriptor no send uses, and the others when their sends end.</summary>
    public void Clear()
    {
        foreach (var (file, _) in _open)
        {
            Drop(file);
        }
    }

    public void Dispose() => Clear();

    /// <summary>Drops the least recently used tenth, so a full table does not sort on every open.</summary>
    private void EvictOldest()
    {
        lock (_gate)
        {
            if (_open.Count <= _max)
            {
                return;
            }

            var entries = _open.ToArray();
            Array.Sort(entries, static (a, b) => a.Value.LastUse.CompareTo(b.Value.LastUse));
            var excess = entries.Length - (_max - _max / 10);
            for (var i = 0; i < excess; i++)
            {
                Drop(entries[i].Key);
            }
        }
    }
}

/// <summary>An open file shared by the sends that use it, closed when the last of them (or the cache) lets go.</summary>
internal sealed class OpenFile(FileStream stream, int users)
{
    private int _users = users;

    /// <summary>The file, opened for sendfile.</summary>
    public FileStream Stream { get; } = stream;

    /// <summary><see cref="Environment.TickCount64"/> of the last use, for eviction.</summary>
    internal long LastUse;

    /// <summary>Takes a use of the descriptor unless it was already closed.</summary>
    public bool TryAddUser()
    {
        var users = Volatile.Read(ref _users);
        while (users > 0)
        {
            var seen = Interlocked.CompareExchange(ref _users, users + 1, users);
            if (seen == users)
            {
                return true;
            }

            users = seen;
        }

        return false;
    }

    /// <summary>Lets go of a use; the last one closes the file.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _users) == 0)
        {
            Stream.Dispose();
        }
    }

    /// <summary>For a file the cache did not keep: only the caller's use holds it.</summary>
    internal void Uncache()
    {
        if (Volatile.Read(ref _users) == 2)
        {
            Release();
        }
    }
}
