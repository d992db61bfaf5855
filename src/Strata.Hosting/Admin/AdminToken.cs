using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Strata.Hosting.Admin;

/// <summary>
/// The admin token (the proxies' admin API, the guestbook's DELETE) as a bearer token, compared in constant time:
/// one check for every node that takes it.
/// </summary>
public sealed class AdminToken
{
    private const string Scheme = "Bearer ";

    // Both sides are hashed first so that the comparison takes the same time whatever the lengths.
    private readonly byte[] _hash;

    private AdminToken(string token) => _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The token from the topology, else from the environment; null when neither has one (the API is off).</summary>
    public static AdminToken? Resolve(string? fromTopology, Func<string, string?>? environment = null)
    {
        var token = fromTopology ?? (environment ?? Environment.GetEnvironmentVariable)(Topology.AdminOptions.TokenEnvironmentVariable);
        return string.IsNullOrEmpty(token) ? null : new AdminToken(token);
    }

    /// <summary>Whether an Authorization header carries this token as a bearer token.</summary>
    public bool Matches(StringValues authorization)
    {
        if (authorization.Count != 1 || authorization[0] is not { } value || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }
}
