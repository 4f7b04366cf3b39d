"""The ``export`` benchmark task (``python -m bench.tasks export``, docs/benchmarks.md) on a
small clinic: it runs the system-level export as the worker does and counts every exported type.
No timing thresholds: the machine is shared."""

from bench import tasks
from trellis.fhir import bulk
from trellis.fhir.tests.helpers_clinical import ClinicalFhirTestCase


class ExportTaskTests(ClinicalFhirTestCase):
    def test_the_task_exports_the_busiest_clinic_by_type(self):
        result = tasks.export()
        self.assertEqual(result["status"], "complete")
        self.assertEqual(result["patients_in_clinic"], 2)
        self.assertEqual(set(result["by_type"]), set(bulk.EXPORTABLE))
        self.assertEqual(result["resources"], sum(result["by_type"].values()))
        self.assertGreater(result["stored_bytes"], 0)
