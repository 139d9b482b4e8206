"""The lesson log's constants and suggested topics. Plain values, no database."""

from __future__ import annotations

# The district plan: a mental-health lesson every two weeks, at least 9 a semester.
LESSONS_PER_SEMESTER = 9
TOPIC_LENGTH = 100
# Topics offered as suggestions (a datalist); any other short topic may be typed.
SUGGESTED_TOPICS = (
    "认识情绪",
    "情绪调节与压力管理",
    "人际交往与同伴关系",
    "学习动机与学习方法",
    "考试焦虑应对",
    "青春期身心发展",
    "生命教育与珍爱生命",
    "网络使用与自我管理",
    "挫折应对与心理韧性",
    "亲子沟通",
    "求助与心理资源",
    "生涯规划",
)
