using Xunit.Abstractions;

namespace Strata.Tests.Data.Bench;

/// <summary>The benchmark store contract on a real MariaDB (started by <see cref="MariaDbServer"/>).</summary>
public sealed class MySqlWorldStoreTests(MariaDbServer server, ITestOutputHelper output) : WorldStoreTests, IClassFixture<MariaDbServer>
{
    protected override TestDatabases Databases { get; } = new MariaDbTestDatabases(server, output);
}
