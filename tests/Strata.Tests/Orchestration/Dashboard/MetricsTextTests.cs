using Strata.Orchestration.Dashboard;

namespace Strata.Tests.Orchestration.Dashboard;

public sealed class MetricsTextTests
{
    // What a load balancer's /metrics looks like, with a label another node version might add (node).
    private const string Scrape = """
        # HELP strata_requests_total Requests forwarded (or answered with an error) by this proxy.
        # TYPE strata_requests_total counter
        strata_requests_total{backend="web",node="lb-1"} 90
        strata_requests_total{backend="api",node="lb-1"} 10
        strata_responses_total{backend="web",code="2xx"} 95
        strata_responses_total{backend="web",code="5xx"} 3
        strata_responses_total{backend="api",code="5xx"} 2
        strata_request_duration_seconds_sum{backend="web"} 1.5
        strata_request_duration_seconds_count{backend="web"} 100
        strata_request_duration_seconds_bucket{backend="web",le="0.001"} 10
        strata_request_duration_seconds_bucket{backend="web",le="0.002"} 50
        strata_request_duration_seconds_bucket{backend="web",le="0.004"} 90
        strata_request_duration_seconds_bucket{backend="web",le="+Inf"} 100
        strata_request_duration_seconds_bucket{backend="api",le="0.001"} 0
        strata_request_duration_seconds_bucket{backend="api",le="0.002"} 0
        strata_request_duration_seconds_bucket{backend="api",le="0.004"} 0
        strata_request_duration_seconds_bucket{backend="api",le="+Inf"} 0
        strata_vip_connections 4 1700000000000
        """;

    [Fact]
    public void Sum_AddsEverySampleOfTheFamily_WhateverItsLabels()
    {
        var metrics = MetricsText.Parse(Scrape);

        Assert.Equal(100, metrics.Sum("strata_requests_total"));
        Assert.Equal(5, metrics.Sum("strata_responses_total", "code", "5xx"));
        Assert.Equal(4, metrics.Sum("strata_vip_connections"));
        Assert.Null(metrics.Sum("strata_no_such_series"));
    }

    [Fact]
    public void Buckets_AddsEachBoundOverTheOtherLabels_InfinityLast()
    {
        var buckets = MetricsText.Parse(Scrape).Buckets("strata_request_duration_seconds");

        Assert.Equal([(0.001, 10), (0.002, 50), (0.004, 90), (double.PositiveInfinity, 100)], buckets);
        Assert.Empty(MetricsText.Parse(Scrape).Buckets("strata_requests_total"));
    }

    [Fact]
    public void Quantile_InterpolatesInsideTheBucket_AsHistogramQuantile()
    {
        IReadOnlyList<(double, double)> buckets = [(0.001, 10), (0.002, 50), (0.004, 90), (double.PositiveInfinity, 100)];

        // Rank 50 of 100 is the top of the second bucket; rank 70 is halfway into the third.
        Assert.Equal(0.002, MetricsText.Quantile(0.5, buckets)!.Value, 9);
        Assert.Equal(0.003, MetricsText.Quantile(0.7, buckets)!.Value, 9);
        // Beyond the last finite bound: that bound.
        Assert.Equal(0.004, MetricsText.Quantile(0.99, buckets));
        Assert.Null(MetricsText.Quantile(0.99, [(0.001, 0), (double.PositiveInfinity, 0)]));
        Assert.Null(MetricsText.Quantile(0.99, []));
    }

    [Fact]
    public void Parse_LabelValuesWithEscapesAndBraces_ReadAsWritten()
    {
        var metrics = MetricsText.Parse("""
            strata_rate_limited_total{route="a \"quoted\" }{ name",code="5xx"} 7
            not a sample line
            strata_rate_limited_total{route="plain"} NaN
            """);

        Assert.Equal(7, metrics.Sum("strata_rate_limited_total", "route", "a \"quoted\" }{ name"));
        Assert.Equal(7, metrics.Sum("strata_rate_limited_total", "code", "5xx"));
    }
}
