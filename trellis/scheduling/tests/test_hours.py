"""A resource's weekly opening hours: read from text, checked, told in words."""

from datetime import time

from django.test import SimpleTestCase

from trellis.lib.errors import InputError
from trellis.scheduling import hours

T = time


class ParseDayTests(SimpleTestCase):
    def test_spans_are_read_from_what_an_administrator_types(self):
        cases = [
            ("", []),
            ("  ", []),
            ("08:00–18:00", [(T(8), T(18))]),
            ("8-18", [(T(8), T(18))]),
            ("0800-1230", [(T(8), T(12, 30))]),
            ("08:00 to 12:00; 13:00 - 18:00", [(T(8), T(12)), (T(13), T(18))]),
            ("07:30—24:00", [(T(7, 30), T(23, 59))]),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(hours.parse_day(text), expected)

    def test_what_is_not_a_span_is_named(self):
        cases = [
            ("eight to six", "“eight to six” is not a time span such as 08:00–18:00"),
            ("08:00", "“08:00” is not a time span such as 08:00–18:00"),
            ("08:00-25:00", "“08:00-25:00” has a time that is not on a 24-hour clock"),
            ("08:61-09:00", "“08:61-09:00” has a time that is not on a 24-hour clock"),
        ]
        for text, message in cases:
            with self.subTest(text=text), self.assertRaisesMessage(ValueError, message):
                hours.parse_day(text)


class CheckDayTests(SimpleTestCase):
    def test_spans_are_put_in_order(self):
        self.assertEqual(
            hours.check_day([(T(13), T(18)), (T(8), T(12))]), [(T(8), T(12)), (T(13), T(18))]
        )

    def test_touching_spans_are_allowed(self):
        self.assertEqual(len(hours.check_day([(T(8), T(12)), (T(12), T(18))])), 2)

    def test_each_rule_has_its_sentence(self):
        cases = [
            ([(T(18), T(8))], "18:00–08:00 closes before it opens"),
            ([(T(9), T(9))], "09:00–09:00 closes before it opens"),
            ([(T(8), T(12)), (T(11), T(14))], "08:00–12:00 and 11:00–14:00 overlap"),
            ([(T(8), T(18)), (T(9), T(10))], "08:00–18:00 and 09:00–10:00 overlap"),
            ([(T(h), T(h, 30)) for h in range(7)], "has more than 6 spans"),
        ]
        for spans, message in cases:
            with self.subTest(message=message), self.assertRaisesMessage(ValueError, message):
                hours.check_day(spans)

    def test_a_week_names_the_day_and_the_field(self):
        with self.assertRaises(InputError) as caught:
            hours.check_week({0: [(T(8), T(18))], 2: [(T(18), T(8))]})
        self.assertEqual(caught.exception.field, "hours.2")
        self.assertEqual(caught.exception.message, "Wednesday: 18:00–08:00 closes before it opens")
        with self.assertRaises(InputError) as caught:
            hours.check_week({7: [(T(8), T(18))]})
        self.assertEqual(caught.exception.field, "hours")


class DescribeTests(SimpleTestCase):
    def test_the_week_in_words(self):
        day = [(T(8), T(18))]
        split = [(T(8), T(12)), (T(13), T(18))]
        cases = [
            ({}, "Closed all week"),
            ({d: day for d in range(5)}, "Mon–Fri 08:00–18:00"),
            ({d: day for d in range(7)}, "Mon–Sun 08:00–18:00"),
            (
                {**{d: day for d in range(5)}, 5: [(T(9), T(13))]},
                "Mon–Fri 08:00–18:00; Sat 09:00–13:00",
            ),
            ({0: day, 2: day, 4: day}, "Mon 08:00–18:00; Wed 08:00–18:00; Fri 08:00–18:00"),
            ({5: day, 6: day}, "Sat, Sun 08:00–18:00"),
            ({0: split, 1: split, 2: day}, "Mon, Tue 08:00–12:00, 13:00–18:00; Wed 08:00–18:00"),
            ({3: []}, "Closed all week"),
        ]
        for week, words in cases:
            with self.subTest(words=words):
                self.assertEqual(hours.describe(week), words)

    def test_a_day_as_the_form_shows_it(self):
        self.assertEqual(
            hours.day_text([(T(13), T(18)), (T(8), T(12))]), "08:00–12:00, 13:00–18:00"
        )
        self.assertEqual(hours.day_text([]), "")
