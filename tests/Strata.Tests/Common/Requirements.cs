using Xunit.Abstractions;

namespace Strata.Tests.Common;

/// <summary>What a test does when something it needs from the machine (root, a Debian package) is missing.</summary>
internal static class Requirements
{
    /// <summary>
    /// The CI rule: when <paramref name="unavailable"/> says why the test cannot run, the test fails in CI (CI set)
    /// and, on a developer machine, is reported as skipped with the reason. Returns true when the test should go on.
    /// </summary>
    public static bool CheckOrReport(string? unavailable, ITestOutputHelper output)
    {
        if (unavailable is null)
        {
            return true;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(unavailable);
        }

        output.WriteLine("Skipped: " + unavailable);
        throw new SkipException(unavailable);
    }
}
