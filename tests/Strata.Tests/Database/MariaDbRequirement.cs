using Strata.Database.Server;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.Database;

/// <summary>The managed database needs MariaDB on the machine (run-tests installs it); the CI rule applies when it is missing.</summary>
internal static class MariaDbRequirement
{
    public static void Check(ITestOutputHelper output)
    {
        string? unavailable = null;
        try
        {
            MariaDbInstallation.Locate();
        }
        catch (DatabaseServerException ex)
        {
            unavailable = ex.Message;
        }

        Requirements.CheckOrReport(unavailable, output);
    }
}
